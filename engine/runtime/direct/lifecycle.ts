/**
 * The monitor's boot/stop state machine, kept apart from the processes it drives so every
 * transition can be unit-tested. The supervisor asks it before acting: may the VM move to
 * this state, may the boot go on, what does a stop request mean now, what does qemu's exit
 * mean. Events that arrive late (a first serial byte after a stop was asked for, an SSH
 * answer during shutdown) are refused here instead of moving the VM backwards.
 *
 *   creating ──qemu spawned──▶ booting ──first serial byte──▶ running ──ssh answers──▶ ssh-ready
 *      │                          │                             │                        │
 *      └──────────── stop asked ──┴─────────────▶ stopping ◀────┴────────────────────────┘
 *   any of them ──qemu gone / boot failed / cleaned up──▶ stopped | failed   (final)
 *
 * SSH that does not answer within the ready timeout ends nothing: the VM stays `running`,
 * marked "no SSH" (a broken sshd is exactly when its serial console is needed), and still
 * becomes ssh-ready should SSH answer later.
 */
import type { VmState } from "../../core/record.js";
import type { QmpShutdown } from "./qmp.js";

const NEXT: Record<VmState, readonly VmState[]> = {
  creating: ["booting", "stopping", "stopped", "failed"],
  booting: ["running", "stopping", "stopped", "failed"],
  running: ["ssh-ready", "stopping", "stopped", "failed"],
  "ssh-ready": ["stopping", "stopped", "failed"],
  stopping: ["stopped", "failed"],
  stopped: [],
  failed: [],
};

export function canMove(from: VmState, to: VmState): boolean {
  return NEXT[from].includes(to);
}

export interface StopRequest {
  force: boolean;
  reason: string;
  /** The VM boots again right away (a rebuild): --rm must not remove it. */
  reboot: boolean;
  /** What the VM ends as: stopped, or failed when the monitor itself stops a bad boot. */
  finalState: "stopped" | "failed";
}

/** What the supervisor must do for a stop request, given where the boot is. */
export type StopAction =
  /** Before qemu: the boot ends at its next checkpoint; a force stop also aborts a disk build. */
  | { kind: "cancel-boot"; abortBuild: boolean }
  /** qemu runs: ask the guest to power off (ACPI), kill it after the timeout. */
  | { kind: "power-down" }
  /** qemu runs: kill it now. */
  | { kind: "kill" }
  /** A stop is already under way: a force request escalates it, anything else just waits. */
  | { kind: "wait"; escalate: boolean }
  /** The VM has already ended. */
  | { kind: "done" };

/** How the VM ended: its final state, why in words, and whether the guest powered itself off cleanly. */
export interface Ending {
  state: "stopped" | "failed";
  reason: string;
  /** Nothing asked it to: the guest shut down on its own, cleanly (a boot-and-power-off check). */
  guestPoweredOff?: true;
}

/** Thrown at a boot checkpoint when a stop arrived meanwhile. */
export class StopDuringBoot extends Error {}

export class Lifecycle {
  private current: VmState = "creating";
  private stopAsked?: StopRequest;
  private finishing = false;
  private qemuRunning = false;
  private sshGaveUp = false;

  get state(): VmState {
    return this.current;
  }

  get stop(): StopRequest | undefined {
    return this.stopAsked;
  }

  /** SSH did not answer within the ready timeout, and has not since. */
  get noSsh(): boolean {
    return this.sshGaveUp;
  }

  /** True once the end has begun: nothing may start or move the VM forward any more. */
  get ending(): boolean {
    return this.finishing || !!this.stopAsked;
  }

  /** Moves to `to` when the graph allows it; a refused move is a late event and is ignored. */
  move(to: VmState): boolean {
    if (to === this.current || !canMove(this.current, to)) return false;
    // Forward progress (booting, running, ssh-ready) is not for a VM being stopped.
    if (this.stopAsked && to !== "stopping" && to !== "stopped" && to !== "failed") return false;
    this.current = to;
    if (to === "ssh-ready") this.sshGaveUp = false;
    return true;
  }

  /**
   * The ready timeout passed without an SSH answer. The VM runs on, marked "no SSH", rather
   * than being torn down; false (nothing to mark) when it is ending anyway or SSH answered.
   */
  sshTimedOut(): boolean {
    if (this.ending || (this.current !== "booting" && this.current !== "running")) return false;
    this.sshGaveUp = true;
    return true;
  }

  /**
   * The guest boots again in the same qemu — a soft reboot switched its root, or it rebooted
   * itself: it runs, and SSH has to answer again; false when the VM is ending.
   */
  bootedAgain(): boolean {
    if (this.ending || (this.current !== "ssh-ready" && this.current !== "running")) return false;
    this.current = "running";
    this.sshGaveUp = false;
    return true;
  }

  /** qemu has been spawned: from now on a stop powers the guest down or kills qemu. */
  qemuSpawned(): void {
    this.qemuRunning = true;
  }

  /** Between boot steps: a stop (or the end) that came meanwhile ends the boot here. */
  checkpoint(): void {
    if (this.ending) throw new StopDuringBoot();
  }

  /** Records a stop request and says what to do about it. */
  requestStop(req: StopRequest): StopAction {
    if (this.finishing) return { kind: "done" };
    if (this.stopAsked) {
      const escalate = req.force && !this.stopAsked.force;
      if (escalate) this.stopAsked = { ...this.stopAsked, force: true };
      return { kind: "wait", escalate };
    }
    this.stopAsked = req;
    if (!this.qemuRunning) return { kind: "cancel-boot", abortBuild: req.force };
    this.move("stopping");
    return req.force ? { kind: "kill" } : { kind: "power-down" };
  }

  /** The guest ignored ACPI power-down: the stop becomes a kill, and its reason says so. */
  powerDownTimedOut(timeoutSec: number): void {
    if (!this.stopAsked) return;
    this.stopAsked = {
      ...this.stopAsked,
      force: true,
      reason: `${this.stopAsked.reason} (the guest ignored ACPI power-down for ${timeoutSec}s and was killed)`,
    };
  }

  /** Claims the one clean-up; false when it has begun already. */
  beginFinish(): boolean {
    if (this.finishing) return false;
    this.finishing = true;
    return true;
  }

  /** The final state, once everything is cleaned up. */
  finished(state: "stopped" | "failed"): void {
    this.current = state;
  }

  /**
   * What qemu's exit means: the requested stop's outcome, or how the guest or qemu ended by
   * itself. qemu exits 0 whenever it shuts down, so its SHUTDOWN event (`shutdown`, from
   * QMP) says whether the guest powered itself off or something outside ended it.
   */
  qemuExited(code: number | undefined, signal: string | null, stderrTail: string, shutdown?: QmpShutdown): Ending {
    this.qemuRunning = false;
    if (this.stopAsked) return { state: this.stopAsked.finalState, reason: this.stopAsked.reason };
    if (signal) return { state: "failed", reason: `qemu was killed by ${signal}` };
    if (code !== 0) {
      const tail = stderrTail.trim().split("\n").slice(-3).join(" ");
      return { state: "failed", reason: `qemu exited with code ${code}: ${tail || "no error output"}` };
    }
    if (!shutdown) return { state: "stopped", reason: "qemu exited without saying why (no shutdown event)" };
    if (shutdown.guest && shutdown.reason === "guest-shutdown") return { state: "stopped", reason: "the guest powered itself off", guestPoweredOff: true };
    if (shutdown.reason === "guest-panic") return { state: "failed", reason: "the guest kernel panicked" };
    if (shutdown.reason === "host-signal") return { state: "failed", reason: "qemu was stopped by a signal from outside bootc" };
    return { state: "failed", reason: `qemu shut down (${shutdown.reason})` };
  }
}
