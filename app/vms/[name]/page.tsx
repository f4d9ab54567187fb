import { VmPage } from "../../components/VmPage";

export default async function Vm({ params }: { params: Promise<{ name: string }> }) {
  const { name } = await params;
  return <VmPage name={decodeURIComponent(name)} />;
}
