/**
 * The engine's VM API: create and boot, watch, list, stop, remove, reach by SSH. The
 * facade validates (new-vm.ts), asks the registry which runtime owns a VM (runtimes.ts) and
 * delegates; it never asks which runtime that is. What a runtime cannot do, it says itself.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Writable } from "node:stream";
import { BootcError } from "../core/errors.js";
import { withRebuildLock } from "../core/lock.js";
import { enginePaths, rebuildLockFile, type EnginePaths } from "../core/paths.js";
import type { VmRecord, VmState } from "../core/record.js";
import { parseRunOptions, type RunOptions } from "../core/schema.js";
import type { ConsoleAttachment, VmEvent, VmInfo } from "../core/vm.js";
import { listCache, pruneDisks, releaseImage, removeDisk, type CacheInfo } from "../disk/disks.js";
import { buildImage, removeSupersededBuild } from "../images/build.js";
import type { PullHooks } from "../images/pull.js";
import type { DiskProgress } from "../disk/progress.js";
import type { Listing, RestoreResult, StopOptions } from "../runtime/runtime.js";
import { checkSnapshotTag, type SnapshotInfo } from "../disk/snapshot-plan.js";
import { remoteCommand } from "../ssh/command.js";
import { sshExec, sshRun, type ExecResult, type RunResult, type SshTarget } from "../ssh/exec.js";
import { checkNewVm } from "./new-vm.js";
import { checkWarmOptions, createWarmVm } from "./warm.js";
import { Runtimes } from "./runtimes.js";
import { compareReports, type BootComparison } from "../insight/compare.js";
import { currentBootReport, endingBootReport, previousBootReport } from "../insight/insight.js";
import type { BootReport } from "../insight/report.js";
import { removeReports, saveReport } from "../insight/store.js";

/** What a rebuild did: nothing (same digest), a full reboot, or a soft reboot into the new image. */
export interface RebuildResult {
  rebooted: boolean;
  soft: boolean;
  imageId: string;
  /** The image it replaced, removed (bootc built it and nothing else uses it). */
  removedImageId?: string;
}

export class Engine {
  readonly runtimes: Runtimes;

  /**
   * `o.node` is the Node binary that runs monitors (inside Electron, process.execPath is the
   * app); `o.runtimes` replaces this host's runtimes (tests).
   */
  constructor(
    readonly paths: EnginePaths = enginePaths(),
    o: { node?: string; runtimes?: Runtimes } = {},
  ) {
    this.runtimes = o.runtimes ?? Runtimes.forHost(paths, o);
  }

  /**
   * Validates, pulls the image if needed (see RunOptions.pull; `hooks.pull` follows the
   * pull), creates the VM and starts its boot. Returns once the boot is under way: waitFor()
   * and events() follow it (a disk build, an upload, the boot).
   */
  async createVm(input: RunOptions, hooks: { pull?: PullHooks; onExport?: (p: DiskProgress) => void; onWarm?: (e: VmEvent) => void } = {}): Promise<VmRecord> {
    const input1 = parseRunOptions(input);
    // A warm start resumes a saved guest: only a disk VM's memory can be saved (docs/disks.md).
    const parsed = input1.warm ? { ...input1, mode: "disk" as const } : input1;
    if (parsed.warm) checkWarmOptions(parsed);
    const runtime = this.runtimes.forNew(parsed);
    const vm = await checkNewVm(parsed, {
      runtime,
      existing: async (name) => {
        const runtime = await this.runtimes.find(name).catch(() => undefined);
        // A VM whose record cannot be read still has the name; it holds no port anyone can tell.
        return runtime?.get(name).catch(() => ({ forwards: [], effectiveState: "failed" as const }));
      },
      localNames: await this.runtimes.local.names(),
      paths: this.paths,
      pull: hooks.pull,
      onExport: hooks.onExport,
    });
    // Only now, with the new VM's input all checked: a typo must not cost the old VM.
    if (vm.replaces) await this.removeVm(vm.name, { force: true });
    if (parsed.warm) return createWarmVm(this, runtime, vm, hooks.onWarm);
    return runtime.create({ record: vm.record, opts: vm.opts, passwordHash: vm.passwordHash, kickstart: vm.kickstart, cloudInitDir: vm.opts.cloudInit?.dir });
  }

  /**
   * Follows a VM's boot until it reaches `target` ("ssh-ready", or "running" for a guest
   * without sshd). Rejects with the reason if the boot fails.
   */
  async waitFor(name: string, target: Extract<VmState, "running" | "ssh-ready">, onEvent: (e: VmEvent) => void = () => undefined): Promise<VmInfo> {
    return (await this.runtimes.owner(name)).waitFor(name, target, onEvent);
  }

  /** The names of this host's own VMs (quick: no libvirt host is asked). */
  names(): Promise<string[]> {
    return this.runtimes.local.names();
  }

  async getVm(name: string): Promise<VmInfo> {
    return (await this.runtimes.owner(name)).get(name);
  }

  async listVms(): Promise<VmInfo[]> {
    return (await this.listAll()).vms;
  }

  /** Every VM of every runtime, and the hosts that did not answer. */
  listAll(): Promise<Listing> {
    return this.runtimes.list();
  }

  async stopVm(name: string, opts: StopOptions = {}): Promise<VmInfo> {
    return (await this.runtimes.owner(name)).stop(name, opts);
  }

  /** Boots a stopped (or failed) VM again with the options it was created with. */
  async startVm(name: string): Promise<VmRecord> {
    return (await this.runtimes.owner(name)).start(name);
  }

  /** Stops a running VM and boots it again with the same options. */
  async restartVm(name: string): Promise<VmRecord> {
    const runtime = await this.runtimes.owner(name);
    await this.keepReport(await this.endingReport(await runtime.get(name)));
    return runtime.reboot(name);
  }

  /**
   * Rebuilds the VM's image from its source directory and, if the digest changed, reboots
   * the VM into it (same name and options). A failed build throws and leaves the VM as it
   * was. The image it replaced is removed when bootc built it, nothing else names it and
   * no other VM uses it. `soft`: the VM kept its kernel and switched roots (a runtime's soft
   * reboot, ready when this returns); `onWarning` hears why it could not when it did not.
   */
  async rebuildAndReboot(
    name: string,
    onLine: (line: string) => void = () => undefined,
    onWarning: (message: string) => void = () => undefined,
  ): Promise<RebuildResult> {
    // One rebuild at a time per VM, whoever asks (the watch loop, the web console, a script): the next waits.
    await this.runtimes.owner(name);
    const lock = rebuildLockFile(this.paths, name);
    await mkdir(path.dirname(lock), { recursive: true, mode: 0o700 });
    return withRebuildLock(lock, name, () => this.rebuildAndRebootLocked(name, onLine, onWarning));
  }

  private async rebuildAndRebootLocked(name: string, onLine: (line: string) => void, onWarning: (message: string) => void): Promise<RebuildResult> {
    const runtime = await this.runtimes.owner(name);
    const vm = await runtime.get(name);
    if (!vm.source)
      throw new BootcError(
        "INVALID_ARGUMENT",
        `VM "${name}" was not booted from an image bootc built`,
        "build the image with `bootc build DIR` (or boot with `bootc run --watch DIR`), then boot it",
      );
    const buildStarted = new Date().toISOString();
    // The ending boot's report is read while the image builds, and for no longer: reading it
    // costs the guest seconds under emulation (systemd-analyze's first runs), and someone is
    // waiting for the new build. Not read by then, it keeps the host's phases only.
    const reading = new AbortController();
    const ending = this.endingReport(vm, reading.signal);
    let built: { imageId: string };
    try {
      // An image of another podman is rebuilt there (the directory is sent, as `podman --remote build` does).
      built = await buildImage({ dir: vm.source, tag: vm.image, onLine, ...(vm.podman ? { podman: vm.podman } : {}) });
    } finally {
      reading.abort();
      await ending;
    }
    // Kept only now that the boot is ending: a failed build or an unchanged image leaves it running.
    if (built.imageId === vm.imageId) return { rebooted: false, soft: false, imageId: built.imageId };
    await this.keepReport(await ending);
    const next = await runtime.reboot(name, {
      onWarning,
      image: { ref: vm.image, id: built.imageId },
      timelinePrefix: [
        { event: "build-started", at: buildStarted },
        { event: "build-finished", at: new Date().toISOString() },
      ],
    });
    const previous = vm.imageId;
    const stillUsed = (await this.listVms()).some((other) => other.name !== name && other.imageId === previous);
    const removed = previous && !stillUsed && (await removeSupersededBuild(previous, vm.podman));
    // Another podman's image: its root was exported here for the boot it replaced (hundreds of MiB a rebuild); it goes with that image.
    if (removed && vm.podman) await this.dropUnusedRoot(previous);
    const soft = next.timeline.some((t) => t.event === "soft-reboot");
    return { rebooted: true, soft, imageId: built.imageId, ...(removed ? { removedImageId: previous } : {}) };
  }

  /** The exported root of `imageId` in the cache, removed if it is there and no VM uses it. */
  private async dropUnusedRoot(imageId: string): Promise<void> {
    const root = (await listCache(this.paths)).find((d) => d.kind === "root" && d.key === imageId.replace(/^sha256:/, ""));
    if (root && !root.usedBy.length) await removeDisk(this.paths, root.key).catch(() => undefined);
  }

  /**
   * Removes a VM and what it owns (a running one only with force). With `removeImage`, its
   * image and cached base disks go too, if no other VM uses them; returns what was removed.
   */
  async removeVm(name: string, opts: { force?: boolean; removeImage?: boolean } = {}): Promise<string[]> {
    const runtime = await this.runtimes.owner(name);
    const vm = await runtime.get(name).catch(() => undefined);
    await runtime.remove(name, opts);
    await removeReports(this.paths, name);
    if (!opts.removeImage || !vm?.imageId || vm.broken) return [];
    // An image of another podman is removed there (by id, if its name still refers to it), never in the local one.
    return releaseImage(this.paths, vm.imageId, vm.podman ? { podman: vm.podman, ref: vm.image } : undefined);
  }

  /**
   * Where the VM's current (or last) boot spent its time: host phases and the guest's units.
   * A ready guest is asked once (waiting at most `waitSec` for systemd to finish starting).
   */
  async bootReport(name: string, o: { waitSec?: number } = {}): Promise<BootReport> {
    return currentBootReport(this.paths, await this.getVm(name), () => this.sshTarget(name), o);
  }

  /**
   * The VM's current boot report with the one it is compared with — its previous boot's (a
   * rebuild, a restart), or `against`'s current or last boot — and what changed, largest
   * change first; no `previous` when there is nothing to compare with.
   */
  async bootInsight(
    name: string,
    o: { against?: string; waitSec?: number } = {},
  ): Promise<{ report: BootReport; previous?: BootReport; comparison?: BootComparison }> {
    const vm = await this.getVm(name);
    const report = await currentBootReport(this.paths, vm, () => this.sshTarget(name), o);
    const previous = o.against ? await this.bootReport(o.against, o) : await previousBootReport(this.paths, vm);
    return previous ? { report, previous, comparison: compareReports(previous, report) } : { report };
  }

  /** As bootInsight, but says in one sentence when there is nothing to compare with. */
  async compareBoots(
    name: string,
    o: { against?: string; waitSec?: number } = {},
  ): Promise<{ report: BootReport; previous: BootReport; comparison: BootComparison }> {
    const r = await this.bootInsight(name, o);
    if (!r.previous || !r.comparison)
      throw new BootcError(
        "INVALID_ARGUMENT",
        `VM "${name}" has no earlier boot to compare with`,
        "rebuild or restart it (bootc run --watch, or Rebuild & reboot), or compare with another VM: --against NAME",
      );
    return { report: r.report, previous: r.previous, comparison: r.comparison };
  }

  /**
   * Before a boot ends for another (rebuild, restart): its report (insight.ts endingBootReport),
   * so the next can be compared with it; keepReport saves it once the boot is really ending.
   * Never fails the caller.
   */
  private endingReport(vm: VmInfo, signal?: AbortSignal): Promise<BootReport | undefined> {
    return endingBootReport(this.paths, vm, () => this.sshTarget(vm.name), signal).catch(() => undefined);
  }

  private async keepReport(report: BootReport | undefined): Promise<void> {
    if (report) await saveReport(this.paths, report).catch(() => undefined);
  }

  /** The cache: base disks and the roots exported from other podmans, their size and image, and which VMs use them. */
  listDisks(): Promise<CacheInfo[]> {
    return listCache(this.paths);
  }

  /** Removes unused cache entries (see disk/disks.ts); `dryRun` only lists them. */
  pruneDisks(opts: { all?: boolean; dryRun?: boolean } = {}): Promise<CacheInfo[]> {
    return pruneDisks(this.paths, opts);
  }

  /** Removes one base disk or exported root; refused while a VM uses it. */
  removeDisk(key: string): Promise<void> {
    return removeDisk(this.paths, key);
  }

  /** A VM's named snapshots, oldest first (docs/disks.md, "Snapshots"). */
  async listSnapshots(name: string): Promise<SnapshotInfo[]> {
    return (await this.runtimes.owner(name)).listSnapshots(name);
  }

  /** Takes snapshot `tag`: disk and memory of a running VM, the disk of a stopped one. */
  async createSnapshot(name: string, tag: string): Promise<SnapshotInfo> {
    checkSnapshotTag(tag);
    return (await this.runtimes.owner(name)).createSnapshot(name, tag);
  }

  /**
   * Goes back to snapshot `tag`: a memory snapshot resumes the guest from that moment
   * (`running`; waitFor follows a stopped VM started for it), a disk-only one puts a
   * stopped VM's disk back.
   */
  async restoreSnapshot(name: string, tag: string): Promise<RestoreResult> {
    checkSnapshotTag(tag);
    return (await this.runtimes.owner(name)).restoreSnapshot(name, tag);
  }

  async removeSnapshot(name: string, tag: string): Promise<void> {
    checkSnapshotTag(tag);
    return (await this.runtimes.owner(name)).removeSnapshot(name, tag);
  }

  /** Where and how to reach a ssh-ready VM: port, user, key, pinned host key file. */
  async sshTarget(name: string): Promise<SshTarget> {
    return (await this.runtimes.owner(name)).sshTarget(name);
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
    return (await this.runtimes.owner(name)).sshCommand(name, command.length ? remoteCommand(command) : undefined, tty);
  }

  /** Follows a VM's events: a snapshot, then what happens to it. */
  async events(name: string, onEvent: (e: VmEvent) => void): Promise<{ close: () => void; closed: Promise<void> }> {
    return (await this.runtimes.owner(name)).events(name, onEvent);
  }

  /** Attaches to the serial console (a VM that is still starting gets a few seconds). */
  async console(name: string): Promise<ConsoleAttachment> {
    return (await this.runtimes.owner(name)).console(name);
  }

  /** The last `maxBytes` of a VM's serial log or its runtime's log (kept after the VM stops). */
  async readLog(name: string, which: "serial" | "monitor", maxBytes = 256 * 1024): Promise<{ text: string; truncated: boolean }> {
    return (await this.runtimes.owner(name)).readLog(name, which, maxBytes);
  }

  /** Writes the serial log so far, then what the guest prints while it runs (bootc logs -f). */
  async followLog(name: string, out: Writable, signal?: AbortSignal): Promise<void> {
    return (await this.runtimes.owner(name)).followLog(name, out, signal);
  }
}
