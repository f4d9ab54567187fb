import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import { formatProgress } from "./progress.js";
import { parseCommand, printJson, progressLine } from "./output.js";

const HELP = `Usage: bootc start [--json] [--no-wait] NAME

Boots a stopped VM again with the options it was created with. A disk-mode VM keeps its
disk: everything the guest wrote before it stopped is still there. An ephemeral VM boots
afresh. Waits until the guest answers SSH unless --no-wait.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    { args: argv, allowPositionals: true, options: { json: { type: "boolean" }, "no-wait": { type: "boolean" } } },
    HELP,
  );
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc start NAME");
  const engine = new Engine();
  const started = await engine.startVm(name);
  if (values["no-wait"]) {
    if (values.json) printJson(started);
    else console.log(`${name}: starting`);
    return 0;
  }
  const bar = progressLine(!!values.json);
  const t0 = Date.now();
  const vm = await engine.waitFor(name, "ssh-ready", (e) => {
    const t = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
    if (e.type === "progress") bar.show(`  ${t}s  ${formatProgress(e)}`);
    else if (e.type === "timeline" && !values.json) bar.done(() => console.error(`  ${t}s  ${e.event}`));
  });
  bar.done();
  if (values.json) printJson(vm);
  else console.log(`${name}: ${vm.effectiveState}${vm.sshPort ? ` (ssh on 127.0.0.1:${vm.sshPort}; bootc ssh ${name})` : ""}`);
  return 0;
}
