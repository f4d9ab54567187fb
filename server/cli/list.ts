import { enginePaths } from "../../engine/paths.js";
import { listVmStatus } from "../../engine/vm/status.js";
import { formatDuration, parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc list [--json]

Lists VMs with their state: creating, booting, running (guest up), ssh-ready (an SSH
round trip succeeded), stopping, stopped, failed (with the reason in --json).`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { json: { type: "boolean" } } }, HELP);
  // Read from the records alone: no need to load the whole engine (docs/benchmarks.md).
  const vms = await listVmStatus(enginePaths());
  if (values.json) {
    printJson(vms);
    return 0;
  }
  if (!vms.length) {
    console.log("No VMs. Boot one with: bootc run IMAGE   (images: bootc images)");
    return 0;
  }
  console.log(
    table(
      ["NAME", "IMAGE", "MODE", "STATE", "SSH", "UPTIME"],
      vms.map((v) => [v.name, v.image, v.mode, v.effectiveState, v.sshPort && v.effectiveState === "ssh-ready" ? `127.0.0.1:${v.sshPort}` : "-", v.uptimeSec !== undefined ? formatDuration(v.uptimeSec * 1000) : "-"]),
    ),
  );
  return 0;
}
