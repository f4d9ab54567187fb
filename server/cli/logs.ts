import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Engine } from "../../engine/vm/manager.js";
import { ACTIVE_STATES } from "../../engine/record.js";
import { BootcError } from "../../engine/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc logs [-f] NAME

Prints the VM's serial console log (kept after the VM stops). -f follows it while the
VM runs, like tail -f.`;

async function copyFrom(file: string, start: number): Promise<number> {
  const size = (await stat(file).catch(() => ({ size: 0 }))).size;
  if (size <= start) return start;
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { start, end: size - 1 }).on("error", reject).on("end", resolve).pipe(process.stdout, { end: false });
  });
  return size;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand({ args: argv, allowPositionals: true, options: { follow: { type: "boolean", short: "f" } } }, HELP);
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc logs [-f] NAME");
  const engine = new Engine();
  const vm = await engine.getVm(name);
  if (vm.connection) {
    // libvirt keeps the log on its host: printed once (-f is for bootc's own runtime).
    process.stdout.write((await engine.readLog(name, "serial", 4 * 1024 * 1024)).text);
    return 0;
  }
  const file = engine.serialLogPath(name);
  let offset = await copyFrom(file, 0);
  while (values.follow) {
    await sleep(250);
    offset = await copyFrom(file, offset);
    const vm = await engine.getVm(name).catch(() => undefined);
    if (!vm || !ACTIVE_STATES.includes(vm.effectiveState)) {
      await copyFrom(file, offset);
      break;
    }
  }
  return 0;
}
