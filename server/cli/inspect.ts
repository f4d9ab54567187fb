import { enginePaths } from "../../engine/core/paths.js";
import { vmStatus } from "../../engine/runtime/direct/status.js";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import { parseCommand, printJson } from "./output.js";

const HELP = `Usage: bootc inspect NAME [--json]

Prints the VM's record as JSON: options, state and reason, the qemu command line, and
the boot timeline (always JSON; --json is accepted for symmetry) (created, image-mounted, virtiofsd-ready, qemu-started,
first-serial-byte, kernel-to-userspace, ssh-ready, …) with timestamps.`;

export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseCommand({ args: argv, allowPositionals: true, options: { json: { type: "boolean" } } }, HELP);
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc inspect NAME");
  // Read from the record alone: no need to load the whole engine (docs/benchmarks.md).
  const local = await vmStatus(name, enginePaths()).catch(async (e: unknown) => {
    if (!(isBootcError(e) && e.code === "VM_NOT_FOUND")) throw e;
    const { Engine } = await import("../../engine/vm/manager.js"); // a libvirt VM, perhaps
    return new Engine().getVm(name);
  });
  printJson(local);
  return 0;
}
