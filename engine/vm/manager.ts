/**
 * The engine's VM API: create and boot, watch, list, stop, remove, reach by SSH. It
 * validates everything before creating anything, so bad input leaves no trace; the
 * running VM itself belongs to its monitor (see monitor/supervisor.ts).
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { readTail } from "../file-tail.js";
import path from "node:path";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError, isBootcError } from "../errors.js";
import { detectAccel } from "../host/accel.js";
import { findQemu, findVirtiofsd, requireTool } from "../host/tools.js";
import { inspectImage } from "../images/images.js";
import { buildImage, removeSupersededBuild } from "../images/build.js";
import { unmountImage } from "../images/rootfs.js";
import { ensureImage, type PullHooks } from "../images/pull.js";
import { signalIfSame } from "../proc.js";
import type { MonitorEvent, StopReply } from "../monitor/protocol.js";
import type { ConsoleAttachment, StopRequest } from "../monitor/client.js";
import { enginePaths, libvirtVmDir, vmPaths, vmsDir, type EnginePaths } from "../paths.js";
import { sshExec, sshRun, type ExecResult, type RunResult, type SshTarget } from "../ssh/exec.js";
import { generateKey, publicKeyOf } from "../ssh/keys.js";
import { checkCloudInitDir, copyCloudInitDir, defaultUserIdentity, readKickstart } from "../provision/inputs.js";
import { writePrivateFile } from "../private-file.js";
import { hashPassword } from "../provision/password.js";
import { withRebuildLock, withVmLock } from "./lock.js";
import { checkBindSources, checkPorts, checkResources, freePort, generateName, NAME_RE, parseRunOptions, validateName, type RunOptions } from "./options.js";
import { ACTIVE_STATES, writeRecord, type VmRecord, type VmState } from "../record.js";
import { planTarget } from "./target.js";
import { listDisks, pruneDisks, releaseImage, removeDisk, type DiskInfo } from "../disk/disks.js";
import { LocalRuntime, type VmRuntime } from "./runtime.js";
import { listVmStatus, MONITOR_DIED, monitorAlive, vmNames, vmStatus, type VmInfo } from "./status.js";
import { remoteCommand, requireSsh, sshCommand } from "./ssh-command.js";
import { LibvirtVms, refuseKickstartSecrets } from "../runtime/libvirt/vms.js";
import { rememberHost, resolveHost } from "../runtime/libvirt/hosts.js";

export type { VmInfo } from "./status.js";
export { remoteCommand } from "./ssh-command.js";

export const DEFAULTS = { cpus: 2, memoryMiB: 2048 };

/**
 * What the libvirt runtime does not do (yet): said before anything is made. Shares and
 * cloud-init serve files from this machine, which a remote host cannot reach.
 */
function refuseUnderLibvirt(opts: ReturnType<typeof parseRunOptions>, local: boolean): void {
  const no = (what: string, hint: string) => new BootcError("INVALID_ARGUMENT", `${what} cannot be used with --connect (a libvirt VM)`, hint);
  if (opts.mode !== "disk" || opts.disk) throw no(opts.disk ? "a premade --disk" : "ephemeral mode", "libvirt runs disk-mode VMs of an image: add --mode disk");
  if (opts.binds.length && !local) {
    throw new BootcError("INVALID_ARGUMENT", "--bind cannot be used with a libvirt VM on another host: that host cannot reach this machine's folders", "copy the files into the image, or run the VM on qemu:///system");
  }
  if (opts.cloudInit) throw no("--cloudinit", "use --ks or -u/--password for first-boot settings, or run the VM without --connect");
  if (opts.credentialTransport && opts.credentialTransport !== "smbios") throw no(`--credentials-via ${opts.credentialTransport}`, "libvirt VMs get their credentials over SMBIOS");
  if (opts.removeImageOnStop) throw no("--rmi", "use --rm (the image stays), and remove the image yourself");
  // The domain definition carries the credentials, and libvirt's read-only socket lets
  // every local user of the libvirt host read it (virsh -r dumpxml): no secrets there.
  if (opts.password !== undefined) throw no("--password", "a password hash would be readable by every user who can read the domain (virsh -r dumpxml); log in with the VM's SSH key, or use --autologin");
}

/** A stop is complete when the monitor has exited (its children die with it). */
async function waitForExit(rec: Pick<VmRecord, "monitorPid" | "monitorStartId">, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (monitorAlive(rec) && Date.now() < deadline) await sleep(50);
}

export class Engine {
  /** VMs that libvirt runs (bootc run --connect): found by name when no local VM has it. */
  readonly libvirt: LibvirtVms;

  constructor(
    readonly paths: EnginePaths = enginePaths(),
    private readonly runtime: VmRuntime = new LocalRuntime(paths),
  ) {
    this.libvirt = new LibvirtVms(paths);
  }

  /** Whether `name` is a VM of this host's own runtime (a record in the vms dir). */
  private async isLocal(name: string): Promise<boolean> {
    return (await this.names()).includes(name);
  }

  private get vmsDir() {
    return vmsDir(this.paths);
  }

  /**
   * Validates, pulls the image if needed (see RunOptions.pull; `hooks.pull` follows the
   * pull), creates the VM and starts its monitor. Returns once the monitor runs; see waitFor().
   */
  async createVm(input: RunOptions, hooks: { pull?: PullHooks; onEvent?: (e: MonitorEvent) => void } = {}): Promise<VmRecord> {
    const parsed = parseRunOptions(input);
    const host = parsed.connect ? await resolveHost(this.paths, parsed.connect) : undefined;
    // Under libvirt, "auto" is the direct builder: its disks boot the image's own kernel,
    // with no firmware to choose on the libvirt host (--builder install asks for UEFI).
    const opts = host && parsed.builder === "auto" ? { ...parsed, builder: "direct" as const } : parsed;
    if (host) refuseUnderLibvirt(opts, host.connection.local);
    else if (opts.autostart) throw new BootcError("INVALID_ARGUMENT", "--autostart needs a libvirt VM: libvirt starts it when its host boots", "add --connect qemu:///system (or a remote host)");
    const taken = new Set(await this.names());
    if (opts.replace && opts.name === undefined) throw new BootcError("INVALID_ARGUMENT", "--replace needs the name of the VM to replace", "add --name NAME");
    const name = opts.name !== undefined ? validateName(opts.name) : generateName(taken);
    if (!taken.has(name) && opts.name !== undefined && (await this.libvirt.find(name).catch(() => undefined))) taken.add(name);
    if (taken.has(name) && !opts.replace) throw new BootcError("VM_EXISTS", `a VM named "${name}" already exists`, `pick another --name, replace it (--replace), or remove it first: bootc rm ${name}`);
    const cpus = opts.cpus ?? DEFAULTS.cpus;
    const memoryMiB = opts.memoryMiB ?? DEFAULTS.memoryMiB;
    checkResources(cpus, memoryMiB);
    const accel = await detectAccel(opts.accel);
    await checkBindSources(opts.binds);
    await checkPorts(opts.forwards);
    findQemu();
    if ((opts.mode === "ephemeral" && !opts.disk && !host) || opts.binds.length) await findVirtiofsd(); // disk mode needs it for --bind only
    requireTool("ssh-keygen");
    const identity = opts.identity ?? (opts.injectUserKey ? await defaultUserIdentity() : undefined);
    if (identity) await publicKeyOf(identity);
    const kickstart = opts.kickstart ? await readKickstart(opts.kickstart) : undefined;
    if (host && kickstart !== undefined) refuseKickstartSecrets(kickstart);
    if (opts.cloudInit) await checkCloudInitDir(opts.cloudInit.dir);
    if (opts.cloudInit?.transport === "cdrom") requireTool("xorriso");
    if (opts.credentialTransport === "cmdline" && (opts.disk || (opts.mode === "disk" && opts.builder === "install"))) {
      throw new BootcError("INVALID_ARGUMENT", "credentials cannot go on the kernel command line of a disk that boots through UEFI", "use --mode ephemeral or --builder direct, or another credential transport");
    }
    const passwordHash = opts.password !== undefined ? hashPassword(opts.password) : undefined;
    // Everything the user typed is checked before a pull that may take minutes.
    if (opts.image && !opts.disk) await ensureImage(opts.image, opts.pull, hooks.pull, this.paths);
    const target = await planTarget(opts);
    // Only now, with the new VM's input all checked: a typo must not cost the old VM.
    if (opts.replace && taken.has(name)) await this.removeVm(name, { force: true });
    if (host) {
      const keyFile = path.join(libvirtVmDir(this.paths, name), "id_ed25519");
      const made = await this.libvirt.create({
        host,
        record: this.newRecord({ name, target, cpus, memoryMiB, accel, identity: identity ? path.resolve(identity) : keyFile, generatedKey: !identity, passwordSet: !!passwordHash, opts, sshPort: undefined }),
        makeKey: (file) => generateKey(file, `bootc-console ${name}`),
        publicKey: () => publicKeyOf(identity ? path.resolve(identity) : keyFile),
        kickstart,
        onEvent: hooks.onEvent ?? (() => undefined),
      });
      await rememberHost(this.paths, host);
      return made;
    }

    const p = vmPaths(name, this.paths);
    await mkdir(this.vmsDir, { recursive: true, mode: 0o700 });
    try {
      await mkdir(p.dir, { mode: 0o700 }); // atomic: of two racing runs, one wins
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") {
        throw new BootcError("VM_EXISTS", `a VM named "${name}" already exists`, `pick another --name, or remove it first: bootc rm ${name}`);
      }
      throw e;
    }
    try {
      if (!identity) await generateKey(p.key, `bootc-console ${name}`);
      if (passwordHash) await writePrivateFile(p.passwordHash, passwordHash);
      if (kickstart !== undefined) await writePrivateFile(p.kickstart, kickstart);
      if (opts.cloudInit) await copyCloudInitDir(opts.cloudInit.dir, p.cloudInit);
      const record = this.newRecord({ name, target, cpus, memoryMiB, accel, identity: identity ? path.resolve(identity) : p.key, generatedKey: !identity, passwordSet: !!passwordHash, opts, sshPort: await freePort() });
      await writeRecord(record, this.paths);
      // Recorded at once, so that a stop or rm racing the monitor's start can find it.
      const monitor = this.runtime.start(name);
      const started = { ...record, monitorPid: monitor.pid, monitorStartId: monitor.startId };
      await writeRecord(started, this.paths);
      return started;
    } catch (e) {
      await rm(p.dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The record of a new VM, before anything runs it. */
  private newRecord(o: {
    name: string; target: Awaited<ReturnType<typeof planTarget>>; cpus: number; memoryMiB: number; accel: Awaited<ReturnType<typeof detectAccel>>;
    identity: string; generatedKey: boolean; passwordSet: boolean; opts: ReturnType<typeof parseRunOptions>; sshPort: number | undefined;
  }): VmRecord {
    const { opts, target } = o;
    return {
      version: 1,
      name: o.name,
      image: target.image,
      imageId: target.imageId,
      mode: target.disk ? "disk" : "ephemeral",
      ...(target.disk ? { disk: target.disk } : {}),
      createdAt: new Date().toISOString(),
      cpus: o.cpus,
      memoryMiB: o.memoryMiB,
      accel: o.accel.accel,
      accelReason: o.accel.reason,
      sshUser: opts.user,
      ...(o.sshPort !== undefined ? { sshPort: o.sshPort } : {}),
      identity: o.identity,
      generatedKey: o.generatedKey,
      ...(o.passwordSet ? { passwordSet: true } : {}),
      ...(opts.autologin ? { autologin: true } : {}),
      ...(opts.kickstart ? { kickstart: path.resolve(opts.kickstart) } : {}),
      ...(opts.cloudInit ? { cloudInit: { transport: opts.cloudInit.transport, dir: path.resolve(opts.cloudInit.dir) } } : {}),
      ...(opts.credentialTransport ? { credentialTransport: opts.credentialTransport } : {}),
      ...(opts.autostart ? { autostart: true } : {}),
      forwards: opts.forwards,
      binds: opts.binds,
      kargs: opts.kargs,
      removeOnStop: opts.removeOnStop || opts.removeImageOnStop,
      ...(opts.removeImageOnStop ? { removeImageOnStop: true } : {}),
      ...(target.source ? { source: target.source } : {}),
      readyTimeoutSec: opts.readyTimeoutSec,
      state: "creating",
      warnings: [],
      timeline: [{ event: "created", at: new Date().toISOString() }],
    };
  }

  /**
   * Follows a VM's events until it reaches `target` ("ssh-ready", or "running" for a guest
   * without sshd). Rejects with the monitor's reason if the boot fails.
   */
  async waitFor(name: string, target: VmState, onEvent: (e: MonitorEvent) => void = () => undefined): Promise<VmInfo> {
    if (!(await this.isLocal(name))) return this.libvirt.waitFor(name, onEvent);
    const watcher = await this.connectEvents(name, onEvent);
    return new Promise<VmInfo>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        watcher.close();
        fn();
      };
      watcher.onEvent((e) => {
        const state = e.type === "snapshot" ? e.record.state : e.type === "state" ? e.state : undefined;
        if (!state) return;
        if (state === target) {
          void this.getVm(name).then((vm) => settle(() => resolve(vm)), (err: unknown) => settle(() => reject(err)));
        } else if (target === "ssh-ready" && state === "running") {
          // Whether the guest has sshd is known only once the monitor has looked into the
          // image, after the first snapshot: the record says it (no SSH port) by now.
          void this.getVm(name).then((vm) => vm.sshPort === undefined && settle(() => resolve(vm)), () => undefined);
        } else if (state === "failed" || state === "stopped") {
          const reason = e.type === "state" ? e.reason : e.type === "snapshot" ? e.record.reason : undefined;
          settle(() => reject(new BootcError("BOOT_FAILED", `VM "${name}" did not boot: ${reason ?? state}`, `see the serial log: bootc logs ${name}`)));
        }
      });
      void watcher.closed.then(() =>
        settle(() => {
          void this.getVm(name).then(
            (vm) => reject(new BootcError("BOOT_FAILED", `VM "${name}" did not boot: ${vm.reason ?? vm.effectiveState}`, `see the serial log: bootc logs ${name}`)),
            reject,
          );
        }),
      );
    });
  }

  /** Connects to a monitor's event stream, waiting briefly for a just-started monitor. */
  private async connectEvents(name: string, first: (e: MonitorEvent) => void) {
    const handlers: Array<(e: MonitorEvent) => void> = [first];
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const w = await this.runtime.events(name, (e) => handlers.forEach((h) => h(e)));
        return { ...w, onEvent: (h: (e: MonitorEvent) => void) => handlers.push(h) };
      } catch (e) {
        const vm = await this.getVm(name);
        if (!ACTIVE_STATES.includes(vm.effectiveState) || Date.now() > deadline) {
          // A monitor that died at start-up says why in its own log.
          const monitorLog = (await readFile(vmPaths(name, this.paths).monitorLog, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" ");
          const why = vm.reason && vm.reason !== MONITOR_DIED ? vm.reason : monitorLog || vm.reason || (e as Error).message;
          throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState}): ${why}`, `see bootc logs ${name}`);
        }
        await sleep(100);
      }
    }
  }

  /** The VMs' names: directories of the vms dir that are VM names (not a removal in progress). */
  names(): Promise<string[]> {
    return vmNames(this.paths);
  }

  /** A VM of this host's runtime, else one that libvirt runs on a known host. */
  async getVm(name: string): Promise<VmInfo> {
    if (!(await this.isLocal(name)) && NAME_RE.test(name)) {
      const found = await this.libvirt.find(name);
      if (found) return found.vm;
    }
    return vmStatus(name, this.paths);
  }

  async listVms(): Promise<VmInfo[]> {
    return (await this.listAll()).vms;
  }

  /** Every VM, this host's and those of every known libvirt host, and the hosts that did not answer. */
  async listAll(): Promise<{ vms: VmInfo[]; unreachable: Array<{ host: string; reason: string }> }> {
    const remote = await this.libvirt.list();
    return { vms: [...(await listVmStatus(this.paths)), ...remote.vms], unreachable: remote.unreachable };
  }

  async stopVm(name: string, opts: { force?: boolean; timeoutSec?: number; reboot?: boolean } = {}): Promise<VmInfo> {
    if (!(await this.isLocal(name))) return this.libvirt.stop(name, opts);
    const vm = await this.getVm(name);
    if (!ACTIVE_STATES.includes(vm.effectiveState)) {
      throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, vm.effectiveState === "failed" ? `remove it with: bootc rm ${name}` : undefined);
    }
    const reply = await this.stopMonitor(vm, { force: !!opts.force, timeoutSec: opts.timeoutSec ?? 60, reboot: opts.reboot });
    if (!reply.ok) throw new BootcError("MONITOR_UNREACHABLE", `stopping "${name}" failed: ${reply.error}`);
    return this.getVm(name).catch(() => ({ ...vm, state: reply.state, effectiveState: reply.state, reason: reply.reason }));
  }

  /** Boots a stopped (or failed) VM again with the options it was created with. */
  async startVm(name: string, opts: { timelinePrefix?: Array<{ event: string; at: string }> } = {}): Promise<VmRecord> {
    if (!(await this.isLocal(name))) return this.libvirt.start(name);
    const vm = await this.getVm(name);
    if (ACTIVE_STATES.includes(vm.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${vm.effectiveState})`);
    const p = vmPaths(name, this.paths);
    return withVmLock(p.lock, name, async () => {
      // Checked again under the lock: two starts racing must not spawn two monitors.
      const current = await this.getVm(name);
      if (ACTIVE_STATES.includes(current.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${current.effectiveState})`);
      await this.cleanUpAfterDeadMonitor(current);
      await checkPorts(vm.forwards);
      await checkBindSources(vm.binds);
      const { effectiveState: _s, uptimeSec: _u, broken: _b, ...record } = current;
      const fresh: VmRecord = {
        ...record,
        state: "creating",
        sshPort: await freePort(),
        reason: undefined, rebooting: undefined, exitCode: undefined, exitSignal: undefined, stoppedAt: undefined,
        monitorPid: undefined, monitorStartId: undefined, qemuPid: undefined, qemuStartId: undefined,
        timeline: [...(opts.timelinePrefix ?? []), { event: "created", at: new Date().toISOString() }],
      };
      await writeRecord(fresh, this.paths);
      let monitor: { pid: number; startId?: string };
      try {
        monitor = this.runtime.start(name);
      } catch (e) {
        await writeRecord({ ...fresh, state: "failed", reason: (e as Error).message }, this.paths);
        throw e;
      }
      const started = { ...fresh, monitorPid: monitor.pid, monitorStartId: monitor.startId };
      await writeRecord(started, this.paths);
      return started;
    });
  }

  /** Stops a running VM gracefully and boots it again with the same options. */
  async restartVm(name: string): Promise<VmRecord> {
    const vm = await this.getVm(name);
    if (ACTIVE_STATES.includes(vm.effectiveState)) await this.stopVm(name, { timeoutSec: 60, reboot: true });
    return this.startVm(name);
  }

  /** Points a stopped VM at another image; the next start boots it (the watch loop's rebuilds). */
  async setImage(name: string, image: string): Promise<void> {
    const vm = await this.getVm(name);
    if (ACTIVE_STATES.includes(vm.effectiveState)) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, "stop it first");
    const details = await inspectImage(image);
    await withVmLock(vmPaths(name, this.paths).lock, name, async () => {
      const { effectiveState: _s, uptimeSec: _u, ...record } = await this.getVm(name);
      await writeRecord({ ...record, image, imageId: details.id }, this.paths);
    });
  }

  /**
   * Rebuilds the VM's image from its source directory and, if the digest changed, reboots
   * the VM into it (graceful stop, same name and options). A failed build throws and
   * leaves the VM as it was. The image it replaced is removed when bootc built it, nothing
   * else names it and no other VM uses it.
   */
  async rebuildAndReboot(name: string, onLine: (line: string) => void = () => undefined): Promise<{ rebooted: boolean; imageId: string; removedImageId?: string }> {
    // One rebuild at a time per VM, whoever asks (the watch loop, the web console, a script): the next waits.
    return withRebuildLock(vmPaths(name, this.paths).rebuildLock, name, () => this.rebuildAndRebootLocked(name, onLine));
  }

  private async rebuildAndRebootLocked(name: string, onLine: (line: string) => void): Promise<{ rebooted: boolean; imageId: string; removedImageId?: string }> {
    const vm = await this.getVm(name);
    if (vm.connection) throw new BootcError("INVALID_ARGUMENT", `VM "${name}" runs under libvirt, where rebuild & reboot is not supported yet`, "use --watch with a VM of bootc's own runtime (no --connect)");
    if (!vm.source) throw new BootcError("INVALID_ARGUMENT", `VM "${name}" was not booted from an image bootc built`, "build the image with `bootc build DIR` (or boot with `bootc run --watch DIR`), then boot it");
    const buildStarted = new Date().toISOString();
    const built = await buildImage({ dir: vm.source, tag: vm.image, onLine });
    if (built.imageId === vm.imageId) return { rebooted: false, imageId: built.imageId };
    const buildFinished = new Date().toISOString();
    if (ACTIVE_STATES.includes(vm.effectiveState)) await this.endForReboot(vm);
    await this.setImage(name, vm.image);
    await this.startVm(name, {
      timelinePrefix: [
        { event: "build-started", at: buildStarted },
        { event: "build-finished", at: buildFinished },
        { event: "previous-boot-stopped", at: new Date().toISOString() },
      ],
    });
    const previous = vm.imageId;
    const stillUsed = (await this.listVms()).some((other) => other.name !== name && other.imageId === previous);
    const removed = previous && !stillUsed && (await removeSupersededBuild(previous));
    return { rebooted: true, imageId: built.imageId, ...(removed ? { removedImageId: previous } : {}) };
  }

  /**
   * Ends the running boot so the new image can boot. An ephemeral VM keeps nothing but what
   * it wrote to shared folders: those writes are flushed (`sync` over SSH) and qemu is
   * killed, which takes about a second where an ACPI shutdown took 13 s under TCG. A disk VM
   * shuts down gracefully, since its disk is its state; so does an ephemeral VM that SSH
   * cannot reach to flush.
   */
  private async endForReboot(vm: VmInfo): Promise<void> {
    if (vm.mode === "ephemeral" && vm.effectiveState === "ssh-ready") {
      const flushed = await this.exec(vm.name, "sync").then((r) => r.code === 0, () => false);
      if (flushed) {
        await this.stopVm(vm.name, { force: true, reboot: true });
        return;
      }
    }
    await this.stopVm(vm.name, { timeoutSec: 60, reboot: true });
  }

  /** After a monitor died by kill -9: end whatever it left (qemu normally died with it) and unmount. */
  private async cleanUpAfterDeadMonitor(vm: VmInfo): Promise<void> {
    if (vm.effectiveState !== "failed" || !vm.monitorPid) return;
    // Only processes proved to be the ones this VM started: after a host reboot the pids name others.
    signalIfSame(vm.qemuPid, vm.qemuStartId, "SIGKILL");
    signalIfSame(vm.monitorPid, vm.monitorStartId, "SIGKILL");
    // podman counts image mounts: undo only the one this VM's monitor made (an ephemeral boot
    // that got as far as mounting, or a disk build cut short), never another VM's.
    const mountedHere = vm.mode === "ephemeral" ? vm.timeline.some((t) => t.event === "image-mounted") : !vm.timeline.some((t) => /^disk-(built|reused|ready)$/.test(t.event));
    if (vm.imageId && mountedHere) await unmountImage(vm.imageId);
    await rm(vmPaths(vm.name, this.paths).runDir, { recursive: true, force: true });
  }

  /**
   * Asks the monitor to stop the VM and waits until the monitor has exited. A monitor that
   * was just started may not listen yet: retry while it lives, then fall back to SIGTERM
   * (its own graceful path) and finally SIGKILL (its children die with it).
   */
  private async stopMonitor(vm: VmInfo, req: StopRequest): Promise<StopReply> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const reply = await this.runtime.stop(vm.name, req);
        await waitForExit(vm);
        return reply;
      } catch (e) {
        if (!monitorAlive(vm)) return { ok: true, state: "stopped" };
        if (Date.now() > deadline) {
          signalIfSame(vm.monitorPid, vm.monitorStartId, "SIGTERM");
          await waitForExit(vm, 5_000);
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
  async removeVm(name: string, opts: { force?: boolean; removeImage?: boolean } = {}): Promise<string[]> {
    if (!(await this.isLocal(name)) && NAME_RE.test(name) && (await this.libvirt.find(name))) {
      await this.libvirt.remove(name, opts);
      return [];
    }
    const p = vmPaths(name, this.paths);
    const vm = await this.getVm(name).catch(async (e: unknown) => {
      if (!(isBootcError(e) && e.code === "VM_BROKEN" && opts.force)) throw e;
      // Its record cannot say which processes were its own, so none is signalled.
      await this.removeDir(p.dir, p.runDir);
      return undefined;
    });
    if (!vm) return [];
    if (ACTIVE_STATES.includes(vm.effectiveState)) {
      if (!opts.force) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, `stop it first (bootc stop ${name}) or use: bootc rm --force ${name}`);
      await this.stopMonitor(vm, { force: true, timeoutSec: 0 });
    }
    await withVmLock(p.lock, name, async () => {
      // Read again: a monitor that died during the stop above left its cleanup to us.
      await this.cleanUpAfterDeadMonitor(await this.getVm(name).catch(() => vm));
      await this.removeDir(p.dir, p.runDir);
    });
    return opts.removeImage && vm.imageId ? releaseImage(this.paths, vm.imageId) : [];
  }

  private async removeDir(dir: string, runDir: string): Promise<void> {
    await rm(runDir, { recursive: true, force: true });
    // Rename first so a half-removed VM never looks like a VM.
    const doomed = `${dir}.removing-${process.pid}`;
    await rm(doomed, { recursive: true, force: true });
    await rename(dir, doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
  }

  /** The base-disk cache: entries, their size and image, and which VMs use them. */
  listDisks(): Promise<DiskInfo[]> {
    return listDisks(this.paths);
  }

  /** Removes unused base disks (see disk/disks.ts); `dryRun` only lists them. */
  pruneDisks(opts: { all?: boolean; dryRun?: boolean } = {}): Promise<DiskInfo[]> {
    return pruneDisks(this.paths, opts);
  }

  /** Removes one base disk; refused while a VM uses it. */
  removeDisk(key: string): Promise<void> {
    return removeDisk(this.paths, key);
  }

  /** Where and how to reach a ssh-ready VM: port, user, key, pinned host key file. */
  async sshTarget(name: string): Promise<SshTarget> {
    if (!(await this.isLocal(name))) return this.libvirt.sshTarget(name);
    const vm = await requireSsh(name, this.paths);
    return { vmName: name, port: vm.sshPort!, user: vm.sshUser, identity: vm.identity, knownHosts: vmPaths(name, this.paths).knownHosts };
  }

  /** Runs a shell command line in the guest with its output streamed as it comes (see sshRun). */
  async runCommand(name: string, command: string, out: Writable, err: Writable): Promise<RunResult> {
    return sshRun(await this.sshTarget(name), command, out, err);
  }

  /** Runs a command in the guest over SSH (ssh2), checking the pinned host key. */
  async exec(name: string, command: string, timeoutMs = 60_000): Promise<ExecResult> {
    return sshExec(await this.sshTarget(name), command, { timeoutMs });
  }

  /** The OpenSSH command line that reaches the VM with its key and pinned host key. */
  async sshCommand(name: string, command: string[] = [], tty?: boolean): Promise<{ file: string; args: string[] }> {
    if (!(await this.isLocal(name))) return this.libvirt.sshCommand(name, command.length ? remoteCommand(command) : undefined, tty);
    return sshCommand(name, this.paths, command, tty);
  }

  /** Follows a VM's monitor events (waiting briefly for a monitor that is just starting). */
  async events(name: string, onEvent: (e: MonitorEvent) => void): Promise<{ close: () => void; closed: Promise<void> }> {
    if (!(await this.isLocal(name))) {
      // Nothing watches a libvirt domain: a follower gets its current state once.
      const vm = await this.getVm(name);
      onEvent({ type: "snapshot", record: vm } as MonitorEvent);
      let close = () => undefined as void;
      const closed = new Promise<void>((resolve) => (close = resolve));
      return { close, closed };
    }
    const { close, closed } = await this.connectEvents(name, onEvent);
    return { close, closed };
  }

  /**
   * Attaches to the serial console. A VM that is still starting gets a few seconds for its
   * monitor and qemu to come up, so a viewer opened right after `createVm` just works.
   */
  async console(name: string): Promise<ConsoleAttachment> {
    if (!(await this.isLocal(name))) return this.libvirt.console(name);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await this.runtime.console(name);
      } catch (e) {
        const vm = await this.getVm(name);
        const starting = vm.effectiveState === "creating" || vm.effectiveState === "booting";
        if (!starting || Date.now() > deadline) throw e;
        await sleep(200);
      }
    }
  }

  serialLogPath(name: string): string {
    return vmPaths(name, this.paths).serialLog;
  }

  /** The last `maxBytes` of a VM's serial log or monitor log (kept after the VM stops). */
  async readLog(name: string, which: "serial" | "monitor", maxBytes = 256 * 1024): Promise<{ text: string; truncated: boolean }> {
    if (!(await this.isLocal(name))) return which === "serial" ? this.libvirt.readLog(name, maxBytes) : { text: "", truncated: false };
    await this.getVm(name);
    const p = vmPaths(name, this.paths);
    return readTail(which === "serial" ? p.serialLog : p.monitorLog, maxBytes);
  }
}
