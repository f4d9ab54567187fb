import { ImagesPage } from "./components/ImagesPage";

export default function Home() {
  return <ImagesPage />;
}
