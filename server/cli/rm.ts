import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc rm [--force] [--rmi] NAME...

Removes VMs: their record, keys, logs, sockets and (disk mode) their disk overlay. A
running VM needs --force (it is killed first). A VM whose monitor died is cleaned up
(leftover processes, image mount). --rmi also removes the VM's image and its cached base
disks, unless another VM uses them.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand({ args: argv, allowPositionals: true, options: { force: { type: "boolean", short: "f" }, rmi: { type: "boolean" } } }, HELP);
  if (!positionals.length) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc rm [--force] NAME...");
  const engine = new Engine();
  for (const name of positionals) {
    const notes = await engine.removeVm(name, { force: values.force, removeImage: values.rmi });
    console.log(`removed ${name}`);
    for (const n of notes) console.log(`  ${n}`);
  }
  return 0;
}
