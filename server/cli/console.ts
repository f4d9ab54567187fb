import type { Socket } from "node:net";
import { Engine } from "../../engine/vm/manager.js";
import { ACTIVE_STATES } from "../../engine/core/record.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc console NAME

Attaches this terminal to the VM's serial console. Recent output is replayed first.
Several viewers can attach at once and share it. When the VM reboots (restart, rebuild
and reboot, a --watch rebuild), the console follows it into the new boot after a
"── new boot ──" line. Detach with Ctrl+] (the VM keeps running).`;

const DETACH = 0x1d; // Ctrl+]
/** How long a viewer waits for a VM that was stopped to boot again (restart, rebuild). */
const REBOOT_WAIT_MS = 120_000;

const bootIdOf = (vm: { timeline: Array<{ at: string }> }) => vm.timeline[0]?.at ?? "";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * After the console closed: if the VM is booting again (it was stopped to reboot, or a new
 * boot already began), waits for that boot and returns true; otherwise false.
 */
async function waitForNewBoot(engine: Engine, name: string, oldBoot: string): Promise<boolean> {
  const deadline = Date.now() + REBOOT_WAIT_MS;
  while (Date.now() < deadline) {
    const vm = await engine.getVm(name).catch(() => undefined);
    if (!vm) return false;
    const active = ACTIVE_STATES.includes(vm.effectiveState) && vm.effectiveState !== "stopping";
    if (active && bootIdOf(vm) !== oldBoot) return true;
    if (!vm.rebooting && !ACTIVE_STATES.includes(vm.effectiveState)) return false;
    await sleep(250);
  }
  return false;
}

export async function interactiveConsole(engine: Engine, name: string): Promise<number> {
  const stdin = process.stdin;
  const raw = stdin.isTTY;
  let sock: Socket | undefined;
  let detached = false;
  let inputEnded = false;
  let boot = bootIdOf(await engine.getVm(name));
  // Keys typed before the console is attached (or while it waits for a new boot) are kept
  // and sent once it is, not dropped: a script that types at once must reach the guest.
  let pending: Buffer[] = [];
  const send = (d: Buffer) => (sock ? sock.write(d) : pending.push(d));
  const attach = async () => {
    const s = (await engine.console(name)).socket;
    s.on("data", (d: Buffer) => process.stdout.write(d));
    s.resume();
    const closed = new Promise<void>((resolve) => s.on("close", () => resolve()));
    if (detached) s.destroy();
    else {
      sock = s;
      for (const d of pending) s.write(d);
      pending = [];
      if (inputEnded) s.end();
    }
    await closed;
    sock = undefined;
  };

  if (raw) stdin.setRawMode(true);
  if (process.stdout.isTTY) process.stderr.write(`[attached to ${name}'s serial console; detach with Ctrl+]]\r\n`);
  const stopReading = () => {
    if (raw) stdin.setRawMode(false);
    // Destroy, not pause: an open stdin pipe would keep the process alive after detaching.
    stdin.destroy();
  };
  stdin.on("data", (d: Buffer) => {
    const i = d.indexOf(DETACH);
    if (i >= 0) {
      if (i > 0) send(d.subarray(0, i));
      process.stderr.write("\r\n[detached]\r\n");
      detached = true;
      sock?.destroy();
    } else send(d);
  });
  stdin.on("end", () => {
    inputEnded = true;
    sock?.end();
  });

  try {
    for (;;) {
      await attach();
      if (detached || inputEnded || !(await waitForNewBoot(engine, name, boot))) break;
      boot = bootIdOf(await engine.getVm(name));
      // The same marker the web console draws, so a log of this session shows each boot.
      process.stdout.write("\r\n\x1b[7m ── new boot ── \x1b[0m\r\n");
    }
  } finally {
    stopReading();
  }
  if (!detached) {
    const vm = await engine.getVm(name).catch(() => undefined);
    process.stderr.write(`\r\n[${name}: console closed${vm?.reason ? `: ${vm.reason}` : ""}]\r\n`);
  }
  return 0;
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
