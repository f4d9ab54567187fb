import { HostsPage } from "../components/HostsPage";

export default function Hosts() {
  return <HostsPage />;
}
