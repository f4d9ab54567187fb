import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc logs [-f] NAME

Prints the VM's serial console log (kept after the VM stops). -f follows it while the
VM runs, like tail -f — for VMs under libvirt too (read on their host).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand({ args: argv, allowPositionals: true, options: { follow: { type: "boolean", short: "f" } } }, HELP);
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc logs [-f] NAME");
  // Without -f: the log as it is now (an aborted follow prints what is there and stops).
  await new Engine().followLog(name, process.stdout, values.follow ? undefined : AbortSignal.abort());
  return 0;
}
