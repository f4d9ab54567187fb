import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand, printJson } from "./output.js";

const HELP = `Usage: bootc stop [--force] [--timeout SECONDS] [--json] NAME

Shuts the VM down: an ACPI power-down request through QMP, then a kill if the guest has
not powered off after --timeout seconds (default 60). --force kills at once.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    { args: argv, allowPositionals: true, options: { force: { type: "boolean" }, timeout: { type: "string" }, json: { type: "boolean" } } },
    HELP,
  );
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc stop NAME");
  if (values.timeout !== undefined && !/^\d+$/.test(values.timeout))
    throw new BootcError("INVALID_ARGUMENT", `--timeout "${values.timeout}" is not a number of seconds`);
  const vm = await new Engine().stopVm(name, { force: values.force, timeoutSec: values.timeout ? Number(values.timeout) : undefined });
  if (values.json) printJson(vm);
  else console.log(`${name}: ${vm.effectiveState}${vm.reason ? ` (${vm.reason})` : ""}`);
  return 0;
}
