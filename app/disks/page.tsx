import { DisksPage } from "../components/DisksPage";

export default function Disks() {
  return <DisksPage />;
}
