import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc console NAME

Attaches this terminal to the VM's serial console. Recent output is replayed first.
Several viewers can attach at once and share it. Detach with Ctrl+] (the VM keeps running).`;

const DETACH = 0x1d; // Ctrl+]

export async function interactiveConsole(engine: Engine, name: string): Promise<number> {
  const { socket: sock } = await engine.console(name);
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  if (process.stdout.isTTY) process.stderr.write(`[attached to ${name}'s serial console; detach with Ctrl+]]\r\n`);
  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      if (raw) stdin.setRawMode(false);
      // Destroy, not pause: an open stdin pipe would keep the process alive after detaching.
      stdin.destroy();
      sock.destroy();
      resolve(code);
    };
    stdin.on("data", (d: Buffer) => {
      const i = d.indexOf(DETACH);
      if (i >= 0) {
        if (i > 0) sock.write(d.subarray(0, i));
        process.stderr.write("\r\n[detached]\r\n");
        finish(0);
      } else sock.write(d);
    });
    stdin.on("end", () => sock.end());
    sock.on("data", (d: Buffer) => process.stdout.write(d));
    sock.resume();
    sock.on("close", () => {
      process.stderr.write(`\r\n[${name}: console closed]\r\n`);
      finish(0);
    });
  });
}

export async function main(argv: string[]): Promise<number> {
  const { positionals } = parseCommand({ args: argv, allowPositionals: true, options: {} }, HELP);
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc console NAME");
  const engine = new Engine();
  const vm = await engine.getVm(name);
  if (!["booting", "running", "ssh-ready", "stopping"].includes(vm.effectiveState)) {
    throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `its past output: bootc logs ${name}`);
  }
  return interactiveConsole(engine, name);
}
