/**
 * bootc's own runtime: each running VM is owned by a detached monitor process on this host
 * (supervisor.ts) that runs qemu and virtiofsd; the VM's record, keys and logs are files in
 * its state directory, its sockets in the runtime directory. No daemon: every command is a
 * client of the record and of the monitor's socket.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError, isBootcError } from "../../core/errors.js";
import { followFile, readTail } from "../../core/file-tail.js";
import { withVmLock } from "../../core/lock.js";
import { checkBindSources, checkPorts, freePort } from "../../core/options.js";
import { vmPaths, vmsDir, type EnginePaths } from "../../core/paths.js";
import { writePrivateFile } from "../../core/private-file.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import { signalIfSame } from "../../core/proc.js";
import { ACTIVE_STATES, newBoot, readRecord, writeRecord, type VmRecord } from "../../core/record.js";
import type { ParsedRunOptions } from "../../core/schema.js";
import type { ConsoleAttachment, VmEvent, VmInfo } from "../../core/vm.js";
import { unmountImage } from "../../images/rootfs.js";
import { copyCloudInitDir } from "../../provision/inputs.js";
import { sshArgv } from "../../ssh/command.js";
import { sshExec, type SshTarget } from "../../ssh/exec.js";
import { generateKey } from "../../ssh/keys.js";
import { q35Board } from "../../host/q35.js";
import type { CreateRequest, Listing, RebootOptions, StopOptions, VmRuntime } from "../runtime.js";
import { attachConsole, requestSoftReboot, requestStop } from "./client.js";
import { startMonitor } from "./launch.js";
import type { StopReply } from "./protocol.js";
import { listVmStatus, monitorAlive, monitorExited, vmNames, vmStatus } from "./status.js";
import { connectEvents, waitForVm, type WaitContext } from "./wait.js";
import { copyWarmState, DirectSnapshots, type RestoreResult } from "./snapshots.js";
import type { SnapshotInfo } from "../../disk/snapshot-plan.js";

/** What a wait for readiness ends with when the guest shut itself down cleanly: not a failed boot (see GUEST_POWERED_OFF). */

const notRunning = (vm: VmInfo) =>
  new BootcError(
    "VM_NOT_RUNNING",
    `VM "${vm.name}" is not running (${vm.effectiveState})`,
    vm.effectiveState === "failed" ? `remove it with: bootc rm ${vm.name}` : undefined,
  );

export class DirectRuntime implements VmRuntime {
  /**
   * `node` runs the monitor: inside Electron, process.execPath is the app, not Node, so a
   * host application names its Node binary here (or in BOOTC_NODE).
   */
  constructor(
    private readonly paths: EnginePaths,
    private readonly node: string = process.env.BOOTC_NODE || process.execPath,
  ) {
    this.snapshots = new DirectSnapshots({ paths, get: (n) => this.get(n), start: (n, o) => this.start(n, o) });
  }

  private readonly snapshots: DirectSnapshots;

  listSnapshots(name: string): Promise<SnapshotInfo[]> {
    return this.snapshots.list(name);
  }

  createSnapshot(name: string, tag: string): Promise<SnapshotInfo> {
    return this.snapshots.create(name, tag);
  }

  restoreSnapshot(name: string, tag: string): Promise<RestoreResult> {
    return this.snapshots.restore(name, tag);
  }

  removeSnapshot(name: string, tag: string): Promise<void> {
    return this.snapshots.remove(name, tag);
  }

  exportWarm(name: string, dir: string): Promise<void> {
    return this.snapshots.exportTo(name, dir);
  }

  async has(name: string): Promise<boolean> {
    return (await vmNames(this.paths)).includes(name);
  }

  names(): Promise<string[]> {
    return vmNames(this.paths);
  }

  async settle(opts: ParsedRunOptions): Promise<ParsedRunOptions> {
    if (opts.autostart)
      throw new BootcError(
        "INVALID_ARGUMENT",
        "--autostart needs a libvirt VM: libvirt starts it when its host boots",
        "add --connect qemu:///system (or a remote host)",
      );
    return opts;
  }

  async create(req: CreateRequest): Promise<VmRecord> {
    const { record } = req;
    const name = record.name;
    const p = vmPaths(name, this.paths);
    await ensurePrivateDir(vmsDir(this.paths), this.paths);
    try {
      await mkdir(p.dir, { mode: 0o700 }); // atomic: of two racing runs, one wins
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") {
        throw new BootcError("VM_EXISTS", `a VM named "${name}" already exists`, `pick another --name, or remove it first: bootc rm ${name}`);
      }
      throw e;
    }
    try {
      // A warm start's guest trusts the key of the boot its snapshot was taken in.
      if (req.warm) await copyWarmState(req.warm.dir, p);
      else if (record.generatedKey) await generateKey(p.key, `bootc-console ${name}`);
      if (req.passwordHash) await writePrivateFile(p.passwordHash, req.passwordHash);
      if (req.kickstart !== undefined) await writePrivateFile(p.kickstart, req.kickstart);
      if (req.cloudInitDir) await copyCloudInitDir(req.cloudInitDir, p.cloudInit);
      const fresh = {
        ...record,
        identity: record.generatedKey ? p.key : record.identity,
        sshPort: await freePort(record.forwards.map((f) => f.host)),
        ...(req.warm ? { restoreSnapshot: req.warm.tag } : {}),
        // Decided here for the VM's life (a warm start's was decided with its entry's key).
        ...(await q35Board(record)),
      };
      await writeRecord(fresh, this.paths);
      // Recorded at once, so that a stop or rm racing the monitor's start can find it.
      const monitor = startMonitor(name, this.paths, this.node);
      const started = { ...fresh, monitorPid: monitor.pid, monitorStartId: monitor.startId };
      await writeRecord(started, this.paths);
      return started;
    } catch (e) {
      await rm(p.dir, { recursive: true, force: true });
      throw e;
    }
  }

  get(name: string): Promise<VmInfo> {
    return vmStatus(name, this.paths);
  }

  async list(): Promise<Listing> {
    return { vms: await listVmStatus(this.paths), unreachable: [] };
  }

  /** `restoreSnapshot`: this boot loads that memory snapshot instead of booting (snapshots.ts). */
  async start(name: string, opts: { timelinePrefix?: Array<{ event: string; at: string }>; restoreSnapshot?: string } = {}): Promise<VmRecord> {
    const vm = await this.get(name);
    if (ACTIVE_STATES.includes(vm.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${vm.effectiveState})`);
    return withVmLock(vmPaths(name, this.paths).lock, name, async () => {
      // Checked again under the lock: two starts racing must not spawn two monitors.
      const current = await this.get(name);
      if (ACTIVE_STATES.includes(current.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${current.effectiveState})`);
      await this.cleanUpAfterDeadMonitor(current);
      await checkPorts(current.forwards);
      await checkBindSources(current.binds);
      const fresh: VmRecord = {
        ...newBoot(current, opts.timelinePrefix),
        sshPort: await freePort(current.forwards.map((f) => f.host)),
        ...(opts.restoreSnapshot ? { restoreSnapshot: opts.restoreSnapshot } : {}),
      };
      await writeRecord(fresh, this.paths);
      let monitor: { pid: number; startId?: string };
      try {
        monitor = startMonitor(name, this.paths, this.node);
      } catch (e) {
        await writeRecord({ ...fresh, state: "failed", reason: (e as Error).message }, this.paths);
        throw e;
      }
      const started = { ...fresh, monitorPid: monitor.pid, monitorStartId: monitor.startId };
      await writeRecord(started, this.paths);
      return started;
    });
  }

  async stop(name: string, opts: StopOptions): Promise<VmInfo> {
    const vm = await this.get(name);
    if (!ACTIVE_STATES.includes(vm.effectiveState)) throw notRunning(vm);
    const reply = await this.stopMonitor(vm, { force: !!opts.force, timeoutSec: opts.timeoutSec ?? 60, reboot: opts.reboot });
    if (!reply.ok) throw new BootcError("MONITOR_UNREACHABLE", `stopping "${name}" failed: ${reply.error}`);
    return this.get(name).catch(() => ({ ...vm, state: reply.state, effectiveState: reply.state, reason: reply.reason }));
  }

  /**
   * Asks the monitor to stop the VM and waits until the monitor has exited. A monitor that
   * was just started may not listen yet: retry while it lives, then fall back to SIGTERM
   * (its own graceful path) and finally SIGKILL (its children die with it).
   */
  private async stopMonitor(vm: VmInfo, req: { force: boolean; timeoutSec: number; reboot?: boolean }): Promise<StopReply> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const reply = await requestStop(vm.name, req, this.paths);
        await monitorExited(vm);
        return reply;
      } catch (e) {
        if (!monitorAlive(vm)) return { ok: true, state: "stopped" };
        if (Date.now() > deadline) {
          signalIfSame(vm.monitorPid, vm.monitorStartId, "SIGTERM");
          await monitorExited(vm, 5_000);
          signalIfSame(vm.monitorPid, vm.monitorStartId, "SIGKILL");
          return { ok: false, error: (e as Error).message };
        }
        await sleep(100);
      }
    }
  }

  /**
   * Removes a VM: its directory (record, keys, logs) and runtime sockets. A running VM
   * needs force (stopped first, immediately). A VM whose monitor died is cleaned up here:
   * leftover processes killed, the image unmounted.
   */
  async remove(name: string, opts: { force?: boolean }): Promise<void> {
    const p = vmPaths(name, this.paths);
    const vm = await this.get(name).catch(async (e: unknown) => {
      if (!(isBootcError(e) && e.code === "VM_BROKEN" && opts.force)) throw e;
      // Its record cannot say which processes were its own, so none is signalled.
      await removeDir(p.dir, p.runDir);
      return undefined;
    });
    if (!vm) return;
    if (ACTIVE_STATES.includes(vm.effectiveState)) {
      if (!opts.force) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, `stop it first (bootc stop ${name}) or use: bootc rm --force ${name}`);
      await this.stopMonitor(vm, { force: true, timeoutSec: 0 });
    }
    await withVmLock(p.lock, name, async () => {
      // Read again: a monitor that died during the stop above left its cleanup to us.
      await this.cleanUpAfterDeadMonitor(await this.get(name).catch(() => vm));
      await removeDir(p.dir, p.runDir);
    });
  }

  /** After a monitor died by kill -9: end whatever it left (qemu normally died with it) and unmount. */
  private async cleanUpAfterDeadMonitor(vm: VmInfo): Promise<void> {
    if (vm.effectiveState !== "failed" || !vm.monitorPid) return;
    // Only processes proved to be the ones this VM started: after a host reboot the pids name others.
    signalIfSame(vm.qemuPid, vm.qemuStartId, "SIGKILL");
    signalIfSame(vm.monitorPid, vm.monitorStartId, "SIGKILL");
    // podman counts image mounts: undo only the one this VM's monitor made (an ephemeral boot
    // that got as far as mounting, or a disk build cut short), never another VM's.
    // After a soft reboot, the record names every image root the monitor held.
    if (vm.mountedImages) for (const id of vm.mountedImages) await unmountImage(id);
    else {
      const mountedHere =
        vm.mode === "ephemeral" ? vm.timeline.some((t) => t.event === "image-mounted") : !vm.timeline.some((t) => /^disk-(built|reused|ready)$/.test(t.event));
      if (vm.imageId && mountedHere) await unmountImage(vm.imageId);
    }
    await rm(vmPaths(vm.name, this.paths).runDir, { recursive: true, force: true });
  }

  async reboot(name: string, o: RebootOptions = {}): Promise<VmRecord> {
    const vm = await this.get(name);
    // A new image for a running ephemeral VM: keep the kernel, swap the root (soft-reboot.ts).
    // A disk VM's root is its disk: it reboots fully, as documented, without a warning.
    // BOOTC_SOFT_REBOOT=0 turns it off (to compare, or to rule it out).
    if (o.image && vm.mode === "ephemeral" && ACTIVE_STATES.includes(vm.effectiveState) && process.env.BOOTC_SOFT_REBOOT !== "0") {
      const reply = await requestSoftReboot(name, { image: o.image, timelinePrefix: o.timelinePrefix }, vm.readyTimeoutSec + 300, this.paths).catch(
        (e: Error) => ({ ok: false, error: e.message }) as const,
      );
      if (reply.ok && reply.soft) return readRecord(name, this.paths);
      const why = reply.ok ? reply.why : reply.error;
      o.onWarning?.(`soft reboot not possible (${why}): rebooting fully`);
      // A soft reboot that failed after the switch began leaves a guest to end as a full reboot does.
    }
    // A restart shuts the guest down as a stop would; a rebuild ends the old boot fast.
    if (ACTIVE_STATES.includes(vm.effectiveState)) await (o.image ? this.endForReboot(vm) : this.stop(name, { timeoutSec: 60, reboot: true }));
    const image = o.image;
    if (image) {
      await withVmLock(vmPaths(name, this.paths).lock, name, async () => {
        const current = await this.get(name);
        if (ACTIVE_STATES.includes(current.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, "stop it first");
        const { effectiveState: _s, uptimeSec: _u, broken: _b, ...record } = current;
        await writeRecord({ ...record, image: image.ref, imageId: image.id }, this.paths);
      });
    }
    return this.start(name, { timelinePrefix: o.timelinePrefix && [...o.timelinePrefix, { event: "previous-boot-stopped", at: new Date().toISOString() }] });
  }

  /**
   * Ends the running boot so the next can start. An ephemeral VM keeps nothing but what it
   * wrote to shared folders: those writes are flushed (`sync` over SSH) and qemu is killed,
   * which takes about a second where an ACPI shutdown took 13 s under TCG. A disk VM shuts
   * down gracefully, since its disk is its state; so does an ephemeral VM that SSH cannot
   * reach to flush.
   */
  private async endForReboot(vm: VmInfo): Promise<void> {
    if (vm.mode === "ephemeral" && vm.effectiveState === "ssh-ready") {
      const flushed = await sshExec(await this.sshTarget(vm.name), "sync", { timeoutMs: 60_000 }).then(
        (r) => r.code === 0,
        () => false,
      );
      if (flushed) {
        await this.stop(vm.name, { force: true, reboot: true });
        return;
      }
    }
    await this.stop(vm.name, { timeoutSec: 60, reboot: true });
  }

  waitFor(name: string, target: "running" | "ssh-ready", onEvent: (e: VmEvent) => void): Promise<VmInfo> {
    return waitForVm(this.waitContext(), name, target, onEvent);
  }

  async events(name: string, onEvent: (e: VmEvent) => void): Promise<{ close: () => void; closed: Promise<void> }> {
    const { close, closed } = await connectEvents(this.waitContext(), name, onEvent);
    return { close, closed };
  }

  private waitContext(): WaitContext {
    return { paths: this.paths, get: (n) => this.get(n), readLog: (n, max) => this.readLog(n, "serial", max) };
  }

  /** The VM, if SSH can reach it now; otherwise an error saying why not and what to do. */
  private async requireSsh(name: string): Promise<VmInfo> {
    const vm = await this.get(name);
    if (vm.effectiveState !== "ssh-ready") {
      if (vm.sshPort === undefined)
        throw new BootcError("SSH_FAILED", `VM "${name}" has no SSH (the image has no sshd)`, `use the serial console: bootc console ${name}`);
      if (vm.sshFailed && (vm.effectiveState === "booting" || vm.effectiveState === "running"))
        throw new BootcError("SSH_FAILED", `VM "${name}" does not answer SSH (${vm.sshFailed})`, `reach it on its serial console: bootc console ${name}`);
      throw new BootcError(
        "VM_NOT_RUNNING",
        `VM "${name}" is not ready for SSH (${vm.effectiveState})`,
        vm.effectiveState === "stopped" ? undefined : `wait for it: bootc list shows ssh-ready when it is`,
      );
    }
    return vm;
  }

  async sshTarget(name: string): Promise<SshTarget> {
    const vm = await this.requireSsh(name);
    return { vmName: name, port: vm.sshPort!, user: vm.sshUser, identity: vm.identity, knownHosts: vmPaths(name, this.paths).knownHosts };
  }

  async sshCommand(name: string, remote: string | undefined, tty?: boolean): Promise<{ file: string; args: string[] }> {
    return sshArgv(await this.sshTarget(name), { remote, tty });
  }

  /**
   * Attaches to the serial console. A VM that is still starting gets a few seconds for its
   * monitor and qemu to come up, so a viewer opened right after `create` just works.
   */
  async console(name: string): Promise<ConsoleAttachment> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await attachConsole(name, this.paths);
      } catch (e) {
        const vm = await this.get(name);
        const starting = vm.effectiveState === "creating" || vm.effectiveState === "booting";
        if (!starting || Date.now() > deadline) throw e;
        await sleep(200);
      }
    }
  }

  async readLog(name: string, which: "serial" | "monitor", maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    await this.get(name);
    const p = vmPaths(name, this.paths);
    return readTail(which === "serial" ? p.serialLog : p.monitorLog, maxBytes);
  }

  async followLog(name: string, out: Writable, signal?: AbortSignal): Promise<void> {
    await this.get(name);
    await followFile(vmPaths(name, this.paths).serialLog, out, {
      signal,
      more: async () => {
        const vm = await this.get(name).catch(() => undefined);
        return !!vm && ACTIVE_STATES.includes(vm.effectiveState);
      },
    });
  }
}

async function removeDir(dir: string, runDir: string): Promise<void> {
  await rm(runDir, { recursive: true, force: true });
  // Rename first so a half-removed VM never looks like a VM.
  const doomed = `${dir}.removing-${process.pid}`;
  await rm(doomed, { recursive: true, force: true });
  await rename(dir, doomed).catch(() => undefined);
  await rm(doomed, { recursive: true, force: true });
}
