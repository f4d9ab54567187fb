import { VmsPage } from "../components/VmsPage";

export default function Vms() {
  return <VmsPage />;
}
