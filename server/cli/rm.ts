import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc rm [--force] NAME...

Removes VMs: their record, keys, logs and sockets. A running VM needs --force (it is
killed first). A VM whose monitor died is cleaned up (leftover processes, image mount).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand({ args: argv, allowPositionals: true, options: { force: { type: "boolean", short: "f" } } }, HELP);
  if (!positionals.length) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc rm [--force] NAME...");
  const engine = new Engine();
  for (const name of positionals) {
    await engine.removeVm(name, { force: values.force });
    console.log(`removed ${name}`);
  }
  return 0;
}
