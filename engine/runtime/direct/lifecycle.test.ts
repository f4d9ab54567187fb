import { describe, expect, it } from "vitest";
import { VM_STATES } from "../../core/record.js";
import { canMove, Lifecycle, StopDuringBoot, type StopRequest } from "./lifecycle.js";

const stop = (over: Partial<StopRequest> = {}): StopRequest => ({ force: false, reason: "stopped by the user", reboot: false, finalState: "stopped", ...over });

describe("the monitor's state machine", () => {
  it("boots forward only: creating → booting → running → ssh-ready", () => {
    const life = new Lifecycle();
    expect(life.move("running")).toBe(false); // no skipping the boot
    life.qemuSpawned();
    expect(life.move("booting")).toBe(true);
    expect(life.move("running")).toBe(true);
    expect(life.move("booting")).toBe(false); // never backwards
    expect(life.move("ssh-ready")).toBe(true);
    expect(life.move("creating")).toBe(false);
    expect(life.state).toBe("ssh-ready");
  });

  it("a boot in the same qemu (a soft reboot, a guest's own reboot) takes an ssh-ready VM back to running until SSH answers again, but not one being stopped", () => {
    const life = new Lifecycle();
    life.qemuSpawned();
    for (const s of ["booting", "running", "ssh-ready"] as const) life.move(s);
    expect(life.bootedAgain()).toBe(true);
    expect(life.state).toBe("running");
    expect(life.move("ssh-ready")).toBe(true);
    life.requestStop(stop());
    expect(life.bootedAgain()).toBe(false);
    expect(life.state).toBe("stopping");
  });

  it("final states are final, and nothing goes back to creating once booted", () => {
    for (const from of VM_STATES) {
      expect(canMove(from, "creating")).toBe(false);
      if (from === "stopped" || from === "failed") for (const to of VM_STATES) expect(canMove(from, to)).toBe(false);
    }
  });

  it("a first serial byte or an SSH answer after a stop was asked for does not move the VM on", () => {
    const life = new Lifecycle();
    life.qemuSpawned();
    life.move("booting");
    expect(life.requestStop(stop())).toEqual({ kind: "power-down" });
    expect(life.state).toBe("stopping");
    expect(life.move("running")).toBe(false);
    expect(life.move("ssh-ready")).toBe(false);
    expect(life.state).toBe("stopping");
  });

  it("a stop before qemu cancels the boot at the next checkpoint; a force stop also aborts the disk build", () => {
    const life = new Lifecycle();
    expect(() => life.checkpoint()).not.toThrow();
    expect(life.requestStop(stop())).toEqual({ kind: "cancel-boot", abortBuild: false });
    expect(() => life.checkpoint()).toThrow(StopDuringBoot);
    expect(life.move("booting")).toBe(false);
    expect(new Lifecycle().requestStop(stop({ force: true }))).toEqual({ kind: "cancel-boot", abortBuild: true });
  });

  it("a second stop waits for the first; a force stop escalates a graceful one once", () => {
    const life = new Lifecycle();
    life.qemuSpawned();
    life.requestStop(stop());
    expect(life.requestStop(stop())).toEqual({ kind: "wait", escalate: false });
    expect(life.requestStop(stop({ force: true }))).toEqual({ kind: "wait", escalate: true });
    expect(life.requestStop(stop({ force: true }))).toEqual({ kind: "wait", escalate: false });
    // The first request's reason is the one recorded.
    expect(life.stop?.reason).toBe("stopped by the user");
  });

  it("qemu's exit means the requested outcome, or says how the guest or qemu ended", () => {
    const asked = new Lifecycle();
    asked.qemuSpawned();
    asked.requestStop(stop({ finalState: "failed", reason: "the guest kernel panicked" }));
    expect(asked.qemuExited(undefined, "SIGKILL", "")).toEqual({ state: "failed", reason: "the guest kernel panicked" });

    const life = () => {
      const l = new Lifecycle();
      l.qemuSpawned();
      return l;
    };
    expect(life().qemuExited(undefined, "SIGKILL", "")).toEqual({ state: "failed", reason: "qemu was killed by SIGKILL" });
    expect(life().qemuExited(1, null, "a\nb\nc\nqemu: could not open disk\n")).toEqual({
      state: "failed",
      reason: "qemu exited with code 1: b c qemu: could not open disk",
    });
  });

  it("qemu's clean exit is a success only when the guest powered itself off; its SHUTDOWN event says who ended it", () => {
    const life = () => {
      const l = new Lifecycle();
      l.qemuSpawned();
      return l;
    };
    // systemctl poweroff, or booting into poweroff.target: the boot-and-power-off check.
    expect(life().qemuExited(0, null, "", { guest: true, reason: "guest-shutdown" })).toEqual({
      state: "stopped",
      reason: "the guest powered itself off",
      guestPoweredOff: true,
    });
    // qemu also exits 0 on SIGTERM from someone else, and on a panic it was told of: not the guest's own power-off.
    expect(life().qemuExited(0, null, "", { guest: false, reason: "host-signal" })).toEqual({
      state: "failed",
      reason: "qemu was stopped by a signal from outside bootc",
    });
    expect(life().qemuExited(0, null, "", { guest: true, reason: "guest-panic" })).toEqual({ state: "failed", reason: "the guest kernel panicked" });
    expect(life().qemuExited(0, null, "", { guest: false, reason: "host-qmp-quit" })).toEqual({ state: "failed", reason: "qemu shut down (host-qmp-quit)" });
    // No event heard (QMP never connected): stopped, but nothing says the guest did it.
    expect(life().qemuExited(0, null, "")).toEqual({ state: "stopped", reason: "qemu exited without saying why (no shutdown event)" });
    // A power-off that bootc asked for is the stop's outcome, not the guest's own.
    const asked = life();
    asked.requestStop(stop());
    expect(asked.qemuExited(0, null, "", { guest: true, reason: "guest-shutdown" })).toEqual({ state: "stopped", reason: "stopped by the user" });
  });

  it("SSH that never answers ends nothing: the VM runs on marked no-SSH, can still become ssh-ready, and stops as usual", () => {
    const life = new Lifecycle();
    life.qemuSpawned();
    life.move("booting");
    life.move("running");
    expect(life.sshTimedOut()).toBe(true);
    expect(life.state).toBe("running");
    expect(life.noSsh).toBe(true);
    expect(life.ending).toBe(false);
    // sshd fixed on the serial console, answering later
    expect(life.move("ssh-ready")).toBe(true);
    expect(life.noSsh).toBe(false);
    expect(life.sshTimedOut()).toBe(false); // a late timeout after an answer marks nothing

    const broken = new Lifecycle();
    broken.qemuSpawned();
    broken.move("booting");
    broken.move("running");
    broken.sshTimedOut();
    expect(broken.requestStop(stop())).toEqual({ kind: "power-down" });
    expect(broken.state).toBe("stopping");
    expect(broken.qemuExited(0, null, "", { guest: true, reason: "guest-shutdown" })).toEqual({ state: "stopped", reason: "stopped by the user" });

    // A timeout while the VM is being stopped is no news.
    const ending = new Lifecycle();
    ending.qemuSpawned();
    ending.move("booting");
    ending.requestStop(stop());
    expect(ending.sshTimedOut()).toBe(false);
    expect(ending.noSsh).toBe(false);
  });

  it("an ignored ACPI power-down becomes a kill whose reason says so", () => {
    const life = new Lifecycle();
    life.qemuSpawned();
    life.requestStop(stop());
    life.powerDownTimedOut(60);
    expect(life.stop).toMatchObject({ force: true, reason: "stopped by the user (the guest ignored ACPI power-down for 60s and was killed)" });
  });

  it("clean-up happens once, after which stops are answered as done", () => {
    const life = new Lifecycle();
    expect(life.beginFinish()).toBe(true);
    expect(life.beginFinish()).toBe(false);
    expect(() => life.checkpoint()).toThrow(StopDuringBoot);
    expect(life.requestStop(stop())).toEqual({ kind: "done" });
    life.finished("stopped");
    expect(life.state).toBe("stopped");
  });
});
