/**
 * Waiting on a VM of this runtime: its monitor's event stream (connected with a short
 * grace for a monitor just started), read until the VM is running or answers SSH, or until
 * it is clear that it will not — failed, stopped, powered off by its guest, or SSH given up
 * on (then the error carries the console's last lines and the commands that reach it).
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError } from "../../core/errors.js";
import { consoleLines } from "../../core/file-tail.js";
import { vmPaths, type EnginePaths } from "../../core/paths.js";
import { ACTIVE_STATES } from "../../core/record.js";
import type { VmEvent, VmInfo } from "../../core/vm.js";
import { watchEvents } from "./client.js";
import { MONITOR_DIED, monitorExited } from "./status.js";

/** What a wait needs of the runtime. */
export interface WaitContext {
  paths: EnginePaths;
  get: (name: string) => Promise<VmInfo>;
  readLog: (name: string, maxBytes: number) => Promise<{ text: string }>;
}

export const poweredOffError = (name: string) =>
  new BootcError("GUEST_POWERED_OFF", `VM "${name}" powered itself off before it was ready`, `its serial log: bootc logs ${name}`);

/** Resolves with the VM once it reaches `target`; rejects with a BootcError saying why it never will. */
export async function waitForVm(ctx: WaitContext, name: string, target: "running" | "ssh-ready", onEvent: (e: VmEvent) => void): Promise<VmInfo> {
  // Which monitor runs this boot: a VM that ended is answered only once it has exited.
  const monitor = await ctx.get(name).catch(() => ({}));
  // A boot that failed before its events could be followed: answered once the monitor has exited, too.
  const watcher = await connectEvents(ctx, name, onEvent).catch(async (e: unknown) => {
    await monitorExited(monitor);
    throw e;
  });
  // No await from here until the handler below is added: the snapshot event comes first.
  return new Promise<VmInfo>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      watcher.close();
      fn();
    };
    // The VM ended: its monitor announced that after ending qemu and unmounting, and goes on
    // to remove a --rm VM. Whoever hears of the end finds nothing of the VM running after it
    // (unless the monitor takes over 15 s, a --rmi's image removal: then it is answered anyway).
    let ending = false;
    const ended = (err: BootcError) => {
      if (ending) return;
      ending = true;
      void monitorExited(monitor).then(() => settle(() => reject(err)));
    };
    const failed = (why: string) => new BootcError("BOOT_FAILED", `VM "${name}" did not boot: ${why}`, `see the serial log: bootc logs ${name}`);
    watcher.onEvent((e) => {
      if (target === "ssh-ready" && e.type === "timeline" && e.event === "ssh-timeout") {
        void ctx
          .get(name)
          .then(
            (vm) => noSshError(ctx, name, vm.sshFailed ?? "SSH did not answer"),
            (err: unknown) => err,
          )
          .then((err) => settle(() => reject(err)));
        return;
      }
      const state = e.type === "snapshot" ? e.record.state : e.type === "state" ? e.state : undefined;
      if (!state) return;
      const poweredOff = e.type === "snapshot" ? e.record.guestPoweredOff : e.type === "state" && e.guestPoweredOff;
      if (state === "stopped" && poweredOff) {
        ended(poweredOffError(name));
      } else if (target === "ssh-ready" && e.type === "snapshot" && e.record.sshFailed && ACTIVE_STATES.includes(state)) {
        void noSshError(ctx, name, e.record.sshFailed).then((err) => settle(() => reject(err)));
      } else if (state === target) {
        void ctx.get(name).then(
          (vm) => settle(() => resolve(vm)),
          (err: unknown) => settle(() => reject(err)),
        );
      } else if (target === "ssh-ready" && state === "running") {
        // Whether the guest has sshd is known only once the monitor has looked into the
        // image, after the first snapshot: the record says it (no SSH port) by now.
        void ctx.get(name).then(
          (vm) => vm.sshPort === undefined && settle(() => resolve(vm)),
          () => undefined,
        );
      } else if (state === "failed" || state === "stopped") {
        const reason = e.type === "state" ? e.reason : e.type === "snapshot" ? e.record.reason : undefined;
        ended(failed(reason ?? state));
      }
    });
    void watcher.closed.then(
      () =>
        ending ||
        settle(() => {
          void ctx.get(name).then((vm) => reject(vm.guestPoweredOff ? poweredOffError(name) : failed(vm.reason ?? vm.effectiveState)), reject);
        }),
    );
  });
}

/** Connects to a monitor's event stream, waiting briefly for a just-started monitor. */
export async function connectEvents(ctx: WaitContext, name: string, first: (e: VmEvent) => void) {
  const handlers: Array<(e: VmEvent) => void> = [first];
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const w = await watchEvents(name, (e) => handlers.forEach((h) => h(e)), ctx.paths);
      return { ...w, onEvent: (h: (e: VmEvent) => void) => handlers.push(h) };
    } catch (e) {
      const vm = await ctx.get(name);
      if (!ACTIVE_STATES.includes(vm.effectiveState) || Date.now() > deadline) {
        // A monitor that died at start-up says why in its own log.
        const monitorLog = (await readFile(vmPaths(name, ctx.paths).monitorLog, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" ");
        const why = vm.reason && vm.reason !== MONITOR_DIED ? vm.reason : monitorLog || vm.reason || (e as Error).message;
        throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState}): ${why}`, `see bootc logs ${name}`);
      }
      await sleep(100);
    }
  }
}

/**
 * Why a waiter gives up on a VM whose SSH did not answer in time, though it runs on: with
 * the last lines its serial console printed (read from the log: they are what a user
 * needs to see) and the commands that reach it now.
 */
async function noSshError(ctx: WaitContext, name: string, why: string): Promise<BootcError> {
  const log = await ctx.readLog(name, 64 * 1024).catch(() => ({ text: "" }));
  const lines = consoleLines(log.text, 10);
  const printed = lines.length ? `last serial lines:\n${lines.join("\n")}` : "its serial console has printed nothing yet";
  return new BootcError(
    "BOOT_TIMEOUT",
    `VM "${name}": ${why}; ${printed}`,
    `it keeps running without SSH: reach it with bootc console ${name} (its log: bootc logs ${name}), stop it with bootc stop ${name}`,
  );
}
