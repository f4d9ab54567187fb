import { Engine } from "../../engine/vm/manager.js";
import { ACTIVE_STATES } from "../../engine/core/record.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand, printError, printJson } from "./output.js";

const HELP = `Usage: bootc rm [--force] [--rmi] [--json] NAME... | --all

Removes VMs: their record, keys, logs, sockets and (disk mode) their disk overlay. A
running VM needs --force (it is killed first). A VM whose monitor died is cleaned up
(leftover processes, image mount). --rmi also removes the VM's image and its cached base
disks, unless another VM uses them. An image that came from another podman (a connection)
is removed in that podman, by id and only while its name there is still the VM's image;
its exported root goes from the cache; the local podman is never asked.

  --all      every VM that is not running (with --force: every VM); none is not an error
  --json     print what was removed (and, with --all, what was left running) as JSON`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: { force: { type: "boolean", short: "f" }, rmi: { type: "boolean" }, all: { type: "boolean", short: "a" }, json: { type: "boolean" } },
    },
    HELP,
  );
  if (values.all && positionals.length)
    throw new BootcError("INVALID_ARGUMENT", "give VM names or --all, not both", "usage: bootc rm [--force] NAME... | --all");
  if (!values.all && !positionals.length) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc rm [--force] NAME... (or --all)");
  const engine = new Engine();
  let names = positionals;
  const skipped: string[] = [];
  if (values.all) {
    const vms = await engine.listVms();
    // Without --force, --all leaves running VMs alone rather than failing on the first one.
    for (const vm of vms) if (!values.force && ACTIVE_STATES.includes(vm.effectiveState) && !vm.broken) skipped.push(vm.name);
    names = vms.map((v) => v.name).filter((n) => !skipped.includes(n));
  }
  const removed: Array<{ name: string; notes: string[] }> = [];
  const failed: Array<{ name: string; error: string }> = [];
  // Like podman rm: one VM that cannot go does not keep the others.
  for (const name of names) {
    try {
      const notes = await engine.removeVm(name, { force: values.force, removeImage: values.rmi });
      removed.push({ name, notes });
      if (!values.json) {
        console.log(`removed ${name}`);
        for (const n of notes) console.log(`  ${n}`);
      }
    } catch (e) {
      if (names.length === 1) throw e;
      failed.push({ name, error: e instanceof Error ? e.message : String(e) });
      if (!values.json) printError(e, false);
    }
  }
  if (values.json) printJson({ removed, ...(failed.length ? { failed } : {}), ...(values.all ? { running: skipped } : {}) });
  else if (skipped.length) console.log(`left running: ${skipped.join(", ")} (add --force to remove them too)`);
  else if (values.all && !removed.length && !failed.length) console.log("no VMs to remove");
  return failed.length ? 1 : 0;
}
