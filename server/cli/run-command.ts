/**
 * `bootc run IMAGE -- CMD…` (and `--execute 'CMD'`): the one-shot part, once the guest
 * answers SSH. The command's output is streamed to this process's stdout and stderr as it
 * comes, and its exit status becomes bootc's. Exit codes (docs/automation.md):
 *   the command's own code; 128+N when a signal N killed it; 0 when the guest powered
 *   itself off cleanly meanwhile; 125 when bootc itself failed (the image did not boot,
 *   the connection was lost without the guest powering off) — as podman run does.
 */
import { constants } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError } from "../../engine/core/errors.js";
import type { VmInfo } from "../../engine/core/vm.js";
import type { Engine } from "../../engine/vm/manager.js";

export const BOOTC_FAILED = 125;

/** The exit code for how the command ended. */
export function exitCodeOf(r: { code: number | null; signal?: string }): number {
  if (r.code !== null) return r.code;
  const n = r.signal ? constants.signals[`SIG${r.signal.replace(/^SIG/, "")}` as keyof typeof constants.signals] : undefined;
  return n ? 128 + n : 255;
}

type Ending = { state: "stopped" | "failed"; reason?: string; guestPoweredOff?: boolean };

/**
 * After the connection was lost, or the command was killed by a signal: is the guest going
 * down (a shutdown signals every session first), or still up? Waits until the monitor says
 * the VM ended (heard as an event: with --rm its record goes right after), or the guest
 * answers SSH again.
 */
async function settle(engine: Engine, name: string, ended: () => Ending | undefined): Promise<Ending | "up"> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const end = ended();
    if (end) return end;
    const vm = await engine.getVm(name).catch(() => undefined);
    if (vm && (vm.effectiveState === "stopped" || vm.effectiveState === "failed"))
      return { state: vm.effectiveState, reason: vm.reason, guestPoweredOff: vm.guestPoweredOff };
    if (
      vm?.effectiveState === "ssh-ready" &&
      (await engine.exec(name, "true", 5_000).then(
        (r) => r.code === 0,
        () => false,
      ))
    )
      return "up";
    await sleep(500);
  }
  return ended() ?? { state: "failed", reason: "the VM neither answered nor ended within 60 s" };
}

export async function runInGuest(engine: Engine, vm: VmInfo, command: string, say: (s: string) => void): Promise<number> {
  if (vm.effectiveState !== "ssh-ready") {
    throw new BootcError("SSH_FAILED", `the image has no sshd, so bootc cannot run a command in ${vm.name}`, "use bootc console to reach its serial console");
  }
  let ending: Ending | undefined;
  const watch = await engine.events(vm.name, (e) => {
    if (e.type === "state" && (e.state === "stopped" || e.state === "failed"))
      ending = { state: e.state, reason: e.reason, guestPoweredOff: e.guestPoweredOff };
  });
  try {
    const r = await engine.runCommand(vm.name, command, process.stdout, process.stderr);
    if (!r.lost && !r.signal) return exitCodeOf(r);
    const after = await settle(engine, vm.name, () => ending);
    if (after === "up") {
      if (!r.lost) return exitCodeOf(r);
      throw new BootcError("SSH_FAILED", `lost the SSH connection to ${vm.name} before the command ended`, `see bootc logs ${vm.name}`);
    }
    if (after.guestPoweredOff) {
      say(`${vm.name}: the guest powered itself off`);
      return 0;
    }
    throw new BootcError("BOOT_FAILED", `${vm.name} ended while the command ran: ${after.reason ?? after.state}`, `see bootc logs ${vm.name}`);
  } finally {
    watch.close();
  }
}
