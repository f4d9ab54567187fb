import { Label } from "@patternfly/react-core";
import { STATE_LABEL } from "../lib/format";

const COLOR: Record<string, "blue" | "green" | "orange" | "red" | "grey"> = {
  creating: "blue",
  booting: "blue",
  running: "blue",
  "ssh-ready": "green",
  stopping: "orange",
  stopped: "grey",
  failed: "red",
};

/** The state in words (never colour alone); `noSsh`: a guest whose SSH did not answer in time, running on. */
export function StateLabel({ state, noSsh = false }: { state: string; noSsh?: boolean }) {
  if (noSsh && (state === "booting" || state === "running")) return <Label color="orange">{STATE_LABEL[state]}, no SSH</Label>;
  return <Label color={COLOR[state] ?? "grey"}>{STATE_LABEL[state] ?? state}</Label>;
}
