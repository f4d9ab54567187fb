import { Label } from "@patternfly/react-core";
import { STATE_LABEL } from "../lib/format";

const COLOR: Record<string, "blue" | "green" | "orange" | "red" | "grey"> = {
  creating: "blue", booting: "blue", running: "blue", "ssh-ready": "green", stopping: "orange", stopped: "grey", failed: "red",
};

/** The state in words (never colour alone). */
export function StateLabel({ state }: { state: string }) {
  return <Label color={COLOR[state] ?? "grey"}>{STATE_LABEL[state] ?? state}</Label>;
}
