/**
 * The per-VM monitor (the conmon / containerd-shim pattern). One detached process per
 * running VM that owns: the image mount, one virtiofsd per share, qemu, QMP, the serial
 * console (log file + replay buffer + fan-out to clients), SSH readiness, and the record
 * of why the VM ended. The CLI and the server are clients over its unix socket, so either
 * can come and go without losing the VM.
 */
import { rm, unlink } from "node:fs/promises";
import net from "node:net";
import { Readable } from "node:stream";
import type { ResultPromise } from "execa";
import { prepareProvisioning, type Provisioning } from "../../provision/boot.js";
import { shareTags } from "../../provision/credentials.js";
import { BootcError } from "../../core/errors.js";
import { findQemu, hostArch } from "../../host/tools.js";
import { checkPorts, sshPortForBoot } from "../../core/options.js";
import { tcgThreadsHere, type TcgThreads } from "../../host/accel.js";
import { unmountImage } from "../../images/rootfs.js";
import { isRootless, podmanNamespace, type PodmanNamespace } from "../../host/userns.js";
import { bootReportsFile, enginePaths, vmPaths, type EnginePaths, type VmPaths } from "../../core/paths.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import { buildQemuArgs, guestForwards } from "./qemu-args.js";
import { diskPlan, ephemeralPlan, firstRoot, MESSAGES_FD, qemuSpecOf, type BootPlan, type PlanContext } from "./boot-plan.js";
import { findPasst, planNetwork, startPasst } from "./network.js";
import type { PasstLog } from "./passt-log.js";
import { releaseImage } from "../../disk/disks.js";
import { writeEspFiles } from "../../disk/esp-write.js";
import { Qmp } from "./qmp.js";
import { publicKeyOf } from "../../ssh/keys.js";
import { waitForSsh } from "../../ssh/ready.js";
import { startShareDaemons, type ShareSource } from "./shares.js";
import { readRecord, type VmRecord, type VmState } from "../../core/record.js";
import { RecordLog } from "./record-log.js";
import { processStartId } from "../../core/proc.js";
import { spawnOwned } from "../../host/spawn.js";
import type { MonitorRequest, StopReply } from "./protocol.js";
import { watchBootOutput } from "./boot-output.js";
import { listenMonitorSocket } from "./socket-server.js";
import { attachViewer, SerialFanout } from "./serial.js";
import { SoftReboot, type RootShare } from "./soft-reboot.js";
import { Lifecycle, StopDuringBoot, type Ending } from "./lifecycle.js";
import { resume, runSnapshotJob } from "./snapshot-jobs.js";
import { sshExec } from "../../ssh/exec.js";

const now = () => new Date().toISOString();

const STOP_TIMEOUT_SEC = 60;
/** After the ready timeout, SSH is still tried this often: a guest whose sshd is fixed on the console becomes ssh-ready. */
const LATE_SSH_PROBE_MS = 10_000;

export class Supervisor {
  private readonly p: VmPaths;
  private server?: net.Server;
  private readonly stopWaiters: Array<(r: StopReply) => void> = [];
  private serial?: SerialFanout;
  private qemu?: ResultPromise;
  /** A kernel panic under multi-threaded TCG has been answered with a reset (kernelPanicked): the next one fails the boot. */
  private panicReset = false;
  /** SSH has been ready in this boot (a panic after that is not the boot's race: kernelPanicked). */
  private sshWasReady = false;
  /** This boot's passt log, when the guest's network is passt: the SSH wait reads the guest's DHCP ack from it. */
  private passtLog?: PasstLog;
  private readonly daemons: ResultPromise[] = [];
  private qmp?: Qmp;
  /** Ephemeral mode: the image roots this monitor has mounted and serves, the current one last (soft-reboot.ts). */
  private readonly roots: RootShare[] = [];
  private readonly soft: SoftReboot;
  /** Rootless: podman's namespace, where the image is mounted and virtiofsd runs. */
  private userns: PodmanNamespace | undefined;
  /** First-boot configuration of this boot; its IMDS server lives as long as the VM. */
  private provision?: Provisioning;
  /** Which state the VM is in and what a stop means now: every transition goes through it. */
  private readonly life = new Lifecycle();
  /** Set when the VM has ended and every waiter was answered. */
  private outcome?: StopReply;
  private qemuStderr = "";
  /** Ends a base-disk build in progress when a force stop comes before qemu runs. */
  private readonly buildAbort = new AbortController();
  /** Snapshot jobs run one at a time, in the order asked. */
  private snapshotQueue: Promise<unknown> = Promise.resolve();
  /** The guest was resumed from a snapshot: its clock stands at the snapshot's time until stepped (before it counts as ssh-ready). */
  private clockBehind = false;
  /** Reboots the guest did itself (guestRebooted): a wait for SSH that saw one learns the host key again. */
  private guestReboots = 0;

  private readonly log: RecordLog;

  constructor(
    record: VmRecord,
    private readonly paths: EnginePaths = enginePaths(),
  ) {
    this.p = vmPaths(record.name, paths);
    this.log = new RecordLog(record, paths);
    this.soft = new SoftReboot({
      record: () => this.record,
      paths,
      log: this.log,
      vp: this.p,
      qmp: () => this.qmp,
      roots: this.roots,
      sshReady: () => this.life.state === "ssh-ready",
      consoleNote: (line) => this.serial?.push(Buffer.from(`\r\n${line}\r\n`)),
      daemonStarted: (child) => this.daemons.push(child),
      onLost: (root, how) => this.shareLost(`the image ${root.image}`, how, root),
      switched: () => this.life.bootedAgain() && this.log.update({ state: "running" }),
      waitForSsh: () => this.waitForSsh(this.record.sshPort ?? 0),
      ending: () => this.life.ending,
    });
  }

  /**
   * A virtiofsd ended on its own: end the VM and say why, rather than leave a guest whose root
   * hangs on every read — unless it served a root the guest has left (soft-reboot.ts).
   */
  private shareLost(what: string, how: string, root?: RootShare): void {
    if (root && (root.released || root !== this.roots.at(-1))) return;
    if (this.qemu && !this.life.ending) void this.stop(true, 0, `virtiofsd serving ${what} ${how}; the guest lost that filesystem`, "failed");
  }

  private get record(): VmRecord {
    return this.log.record;
  }

  static async load(name: string): Promise<Supervisor> {
    return new Supervisor(await readRecord(name));
  }

  /** Runs the VM until qemu exits and everything is cleaned up. */
  async run(): Promise<void> {
    await this.listen();
    process.on("SIGTERM", () => void this.stop(false, STOP_TIMEOUT_SEC, "the monitor was asked to stop (SIGTERM)"));
    process.on("SIGINT", () => void this.stop(false, STOP_TIMEOUT_SEC, "the monitor was interrupted"));
    this.log.update({
      monitorPid: process.pid,
      monitorStartId: processStartId(process.pid),
      startedAt: now(),
      state: "creating",
      reason: undefined,
      exitCode: undefined,
      exitSignal: undefined,
      stoppedAt: undefined,
    });
    try {
      await this.boot();
    } catch (e) {
      // A stop that came during the boot ends it as asked, whatever step it cut short.
      const stop = this.life.stop;
      if (e instanceof StopDuringBoot || stop) await this.finish({ state: stop?.finalState ?? "stopped", reason: stop?.reason ?? "stopped while booting" });
      // The reason is all a user sees of a failed boot: keep the error's hint in it.
      else
        await this.finish({
          state: "failed",
          reason: e instanceof BootcError && e.hint ? `${e.message}; ${e.hint}` : e instanceof Error ? e.message : String(e),
        });
    }
  }

  /** Between boot steps: a stop that arrived meanwhile ends the boot here. */
  private checkpoint(): void {
    this.life.checkpoint();
  }

  /** Moves the VM to `state` if the state machine allows it now, and records it. */
  private enter(state: VmState): void {
    if (this.life.move(state)) this.log.update({ state });
  }

  /** What qemu boots (boot-plan.ts); an image mounted for it is this monitor's to unmount. */
  private plan(): Promise<BootPlan> {
    const ctx: PlanContext = {
      record: this.record,
      paths: this.paths,
      vp: this.p,
      log: this.log,
      signal: this.buildAbort.signal,
      checkpoint: () => this.checkpoint(),
      mounted: (root) => {
        this.userns = root.userns;
        this.roots.push(firstRoot(this.record, root));
        this.log.update({ mountedImages: [this.record.imageId] });
      },
      exported: (root) => {
        if (root.userns) this.userns = root.userns;
        this.roots.push(firstRoot(this.record, root, true));
      },
    };
    return this.record.mode === "disk" ? diskPlan(ctx) : ephemeralPlan(ctx);
  }

  private async boot(): Promise<void> {
    const r = this.record;
    const plan = await this.plan();
    await unlink(this.p.knownHosts).catch(() => undefined); // a new boot may have new host keys
    const publicKey = await publicKeyOf(r.identity);
    const shares = shareTags(r.binds);
    const provision = await prepareProvisioning({
      record: r,
      paths: this.paths,
      vp: this.p,
      arch: r.arch ?? hostArch(),
      facts: { systemd: plan.systemd, users: plan.users, directKernel: !!plan.kernel, firmware: !!plan.firmware },
      publicKey,
      shares,
    });
    this.provision = provision;
    // The esp transport: the credentials go into this VM's own disk (its overlay), where systemd-stub finds them.
    const disk = plan.disks[0];
    // Its scratch copies of the ESP (two, up to 512 MiB each) go in the VM's private state directory, not the tmpfs runtime one.
    if (provision.espFiles && disk) await writeEspFiles(disk.file, disk.format, provision.espFiles, this.p.dir);
    const network = planNetwork({ allowHostLoopback: !!r.allowHostLoopback, platform: process.platform, passt: findPasst(), published: r.forwards.length });
    const warnings = [...provision.warnings, ...(network.warning ? [network.warning] : [])];
    for (const w of warnings) this.log.broadcast({ type: "warning", message: w });
    this.log.update({ guestSystemd: plan.systemd, warnings, credentialsVia: provision.via, ...(plan.sshd ? {} : { sshPort: undefined }) });

    const sources: ShareSource[] = [
      // The image root never changes under the guest: its cache may trust itself.
      ...(plan.rootShare ? [{ source: plan.rootShare, readOnly: true, cache: "always" as const }] : []),
      ...r.binds.map((b) => ({ source: b.host, readOnly: b.readOnly })),
    ];
    // Rootless, the shares are served from podman's namespace (shares.ts).
    const userns = sources.length && isRootless() ? (this.userns ?? (await podmanNamespace())) : undefined;
    await startShareDaemons(sources, {
      socketOf: (i) => this.p.fsSock(i),
      userns,
      started: (child) => {
        this.daemons.push(child);
        // The first daemon serves the image's root (a mounted image's, or another podman's exported root).
        const root = this.roots[0];
        if (plan.rootShare && this.daemons.length === 1 && root) root.daemon = child;
      },
      checkpoint: () => this.checkpoint(),
      onLost: (source, how) => this.shareLost(source, how, plan.rootShare === source ? this.roots[0] : undefined),
    });
    if (sources.length) this.log.mark("virtiofsd-ready");

    // Under TCG, a host thread per vCPU only if that many cores are idle now (host/accel.ts).
    const tcgThreads = r.accel === "tcg" ? (await tcgThreadsHere(r.cpus)).threads : undefined;
    // The -p ports were free when the VM was created or started; one taken since fails the
    // boot with one sentence rather than qemu's. The SSH port is chosen again instead
    // (core/options.ts): nobody asked for that one.
    await checkPorts(r.forwards);
    const ownPorts = r.forwards.map((f) => f.host);
    const sshPort = plan.sshd ? await sshPortForBoot(r.sshPort, ownPorts) : undefined;
    if (sshPort && sshPort !== r.sshPort) this.log.update({ sshPort });
    const passt = network.kind === "passt" ? await startPasst(network.binary, guestForwards({ sshPort, forwards: r.forwards }), this.p.passtLog) : undefined;
    if (passt) this.daemons.push(passt.child);
    this.passtLog = passt?.log;
    const args = buildQemuArgs(qemuSpecOf({ record: r, plan, vp: this.p, shareCount: sources.length, sshPort, network, provision, tcgThreads }));
    // The last moment a stop that came in during the awaits above can still prevent qemu.
    this.checkpoint();
    this.serial = new SerialFanout(this.p.serialLog);
    // fd 3: passt's socket pair (LINK_FD); fd 4: the boot messages' virtio console (MESSAGES_FD).
    const link = passt ? passt.link : ("ignore" as const);
    const extra = plan.kernel ? [link, "pipe" as const] : passt ? [passt.link] : [];
    const qemu = spawnOwned(findQemu(process.env, r.arch ?? hostArch()), args, { stdio: ["pipe", "pipe", "pipe", ...extra] });
    // qemu has its own copy of the socket pair's end now: with ours closed, passt ends with qemu.
    passt?.link.destroy();
    this.qemu = qemu;
    this.life.qemuSpawned();
    this.log.update({ qemuPid: qemu.pid, qemuStartId: processStartId(qemu.pid), qemuArgs: args });
    this.enter("booting");
    this.log.mark("qemu-started");
    qemu.stderr?.on("data", (d: Buffer) => (this.qemuStderr = (this.qemuStderr + d.toString()).slice(-4000)));
    const serial = this.serial;
    // The serial port (qemu's stdout), and the boot messages' virtio console when it has one.
    const outputs = [qemu.stdout, qemu.stdio[MESSAGES_FD]].filter((o): o is Readable => o instanceof Readable);
    if (outputs.length) {
      watchBootOutput(outputs, serial, {
        firstByte: () => {
          this.log.mark("first-serial-byte");
          this.enter("running");
        },
        userspace: () => this.log.mark("kernel-to-userspace"),
        panicked: (lines) => void this.kernelPanicked(lines, tcgThreads),
      });
    }
    void qemu.then((result) => this.onQemuExit(result.exitCode, result.signal ?? null));
    this.qmp = await Qmp.connect(this.p.qmpSock).catch(() => undefined);
    // A reboot the guest does itself (reboot, systemctl reboot) keeps qemu and the VM. (A
    // system_reset through QMP would say guest: false; bootc sends none.)
    this.qmp?.onEvent("RESET", (data) => {
      if (data.guest === true && sshPort) void this.guestRebooted(sshPort);
    });
    if (r.restoreSnapshot) await this.resumeFromSnapshot(r.restoreSnapshot);
    if (sshPort) void this.waitForSsh(sshPort);
  }

  /**
   * A kernel panic on the console fails the boot, but for one case, once: a panic before SSH
   * was first ready, under multi-threaded TCG. There the guest is reset and boots again in
   * the same qemu. QEMU's multi-threaded TCG can run a stale translation of code the kernel
   * has just live-patched, and trap on the int3 the patch had in place for a moment (seen:
   * Debian 13's kernel flipping its sched_clock static keys, "Oops: int3" in
   * sched_clock_idle_wakeup_event, about one boot in 25 here; docs/engine.md). A second
   * panic is the image's, not the race's: the boot fails with it.
   */
  private async kernelPanicked(lines: string[], tcgThreads: TcgThreads | undefined): Promise<void> {
    const failed = `the guest kernel panicked; last serial lines:\n${lines.join("\n")}`;
    if (tcgThreads !== "multi" || this.panicReset || this.sshWasReady || this.life.state !== "running" || !this.qmp)
      return void this.stop(true, 0, failed, "failed");
    this.panicReset = true;
    this.log.broadcast({
      type: "warning",
      message: "the guest kernel panicked early in the boot under multi-threaded TCG (a race in QEMU's TCG, not the image): resetting it to boot once more",
    });
    this.log.mark("kernel-panic-reset");
    const reset = await this.qmp.command("system_reset").then(
      () => true,
      () => false,
    );
    if (!reset) await this.stop(true, 0, failed, "failed");
  }

  /** A restore: qemu started paused (-S); the snapshot's memory and disk are loaded, then the guest runs on from there. */
  private async resumeFromSnapshot(tag: string): Promise<void> {
    this.checkpoint();
    if (!this.qmp) throw new BootcError("BOOT_FAILED", `qemu's QMP socket did not answer, so snapshot "${tag}" could not be loaded`);
    try {
      await runSnapshotJob(this.qmp, "load", tag);
      await resume(this.qmp);
    } catch (e) {
      throw new BootcError("BOOT_FAILED", `restoring snapshot "${tag}" failed: ${(e as Error).message}`);
    }
    this.log.mark("snapshot-restored");
    this.log.update({ restoreSnapshot: undefined });
    this.enter("running");
    this.clockBehind = true;
  }

  /**
   * Saves, loads or deletes a snapshot of the running guest (snapshot-jobs.ts). A save that
   * fails leaves no tag behind; a load resumes the guest from the snapshot's moment.
   */
  private snapshot(action: "save" | "load" | "delete", tag: string): Promise<void> {
    const run = async () => {
      const state = this.life.state;
      if (this.life.ending || (state !== "running" && state !== "ssh-ready"))
        throw new Error(`the VM is ${this.life.ending ? "stopping" : state}, not running`);
      const qmp = this.qmp;
      if (!qmp) throw new Error("qemu's QMP socket is not connected");
      try {
        await runSnapshotJob(qmp, action, tag);
      } catch (e) {
        // Nothing half-done: a save cut short (a full disk) must not leave a tag that looks usable.
        if (action === "save" && !/already exists/.test((e as Error).message)) await runSnapshotJob(qmp, "delete", tag).catch(() => undefined);
        throw e;
      } finally {
        if (action !== "delete") await resume(qmp).catch(() => undefined);
      }
      if (action === "load") {
        this.log.mark("snapshot-restored");
        // The guest is back at the snapshot's moment, maybe in a boot before a reboot of its
        // own (guestRebooted), with that boot's host keys: the key is learnt again.
        await unlink(this.p.knownHosts).catch(() => undefined);
        if (state === "ssh-ready") void this.stepGuestClock(true);
      }
    };
    const next = this.snapshotQueue.then(run, run);
    this.snapshotQueue = next.catch(() => undefined);
    return next;
  }

  /**
   * Sets a restored guest's clock to the host's (it resumed at the snapshot's time); a guest
   * that refuses gets a warning, nothing fails. `learn`: no host key is pinned, and this
   * connection pins the guest's.
   */
  private async stepGuestClock(learn = false): Promise<void> {
    const r = this.record;
    if (!r.sshPort) return;
    const target = { vmName: r.name, port: r.sshPort, user: r.sshUser, identity: r.identity, knownHosts: this.p.knownHosts };
    const at = (Date.now() / 1000).toFixed(3);
    const set = `date -u -s @${at} >/dev/null 2>&1 || sudo -n date -u -s @${at} >/dev/null 2>&1`;
    const done = await sshExec(target, set, { timeoutMs: 30_000, learn }).then(
      (x) => x.code === 0,
      () => false,
    );
    if (!done)
      this.log.broadcast({ type: "warning", message: "the guest's clock could not be set after the restore: it runs behind by the time since the snapshot" });
  }

  /**
   * The guest rebooted itself. On a volatile root its sshd makes new host keys at every boot,
   * so the key pinned at ssh-ready would make every later connection fail as an impostor's:
   * it is forgotten, the VM is `running` again, and the key is learnt anew as at a boot, from
   * the first answer on the VM's own loopback port (waitForSsh, with its timeout). A wait
   * already under way (the boot's own, or a soft reboot's) sees the reboot and learns again.
   */
  private async guestRebooted(port: number): Promise<void> {
    this.guestReboots++;
    const wasReady = this.life.state === "ssh-ready";
    await unlink(this.p.knownHosts).catch(() => undefined);
    if (!wasReady || !this.life.bootedAgain()) return;
    this.log.update({ state: "running" });
    this.log.mark("guest-rebooted");
    await this.waitForSsh(port);
  }

  /** Waits until SSH answers (then ssh-ready; true), the VM ends, or SSH is given up on after the ready timeout and a later answer. */
  private async waitForSsh(port: number): Promise<boolean> {
    const target = { vmName: this.record.name, port, user: this.record.sshUser, identity: this.record.identity, knownHosts: this.p.knownHosts };
    const check = () => (this.life.ending ? "stop" : this.life.state === "running" ? "probe" : "wait");
    let outcome: Awaited<ReturnType<typeof waitForSsh>>;
    let reboots: number;
    do {
      reboots = this.guestReboots;
      // The guest's next DHCP ack, this boot's or this reboot's: probes made after it get an answer at once.
      const waiting = new AbortController();
      const networkUp = this.passtLog?.nextDhcpAck(waiting.signal);
      outcome = await waitForSsh(target, { timeoutMs: this.record.readyTimeoutSec * 1000, check, networkUp }).finally(() => waiting.abort());
      if (outcome === "timeout" && this.life.sshTimedOut()) {
        // A broken sshd is exactly when the serial console is needed: the VM runs on, and says
        // why it is not ssh-ready (waiters hear "ssh-timeout" and read it).
        this.log.update({ sshFailed: `SSH did not answer within ${this.record.readyTimeoutSec} s` });
        this.log.mark("ssh-timeout");
        outcome = await waitForSsh(target, { timeoutMs: Infinity, intervalMs: LATE_SSH_PROBE_MS, check });
      }
      if (outcome === "ready" && this.clockBehind) {
        this.clockBehind = false;
        await this.stepGuestClock();
      }
      // The guest rebooted while this wait ran (guestRebooted): the key it learnt may be the old boot's.
      if (reboots !== this.guestReboots) await unlink(this.p.knownHosts).catch(() => undefined);
    } while (outcome === "ready" && reboots !== this.guestReboots);
    if (outcome === "ready" && this.life.move("ssh-ready")) {
      this.sshWasReady = true;
      this.log.mark("ssh-ready");
      this.log.update({ state: "ssh-ready", sshFailed: undefined });
      return true;
    }
    return false;
  }

  /** ACPI power-down through QMP, then SIGKILL after `timeoutSec`; `force` kills at once. */
  async stop(force: boolean, timeoutSec: number, reason: string, finalState: "stopped" | "failed" = "stopped", reboot = false): Promise<StopReply> {
    if (this.outcome) return this.outcome;
    const reply = new Promise<StopReply>((resolve) => this.stopWaiters.push(resolve));
    const action = this.life.requestStop({ force, reason, reboot, finalState });
    if (this.life.state !== this.record.state && this.life.state === "stopping") this.log.update({ state: "stopping" });
    switch (action.kind) {
      case "cancel-boot":
        // boot() stops at its next checkpoint and finishes; a force stop does not wait
        // for a base-disk build to get there.
        if (action.abortBuild) this.buildAbort.abort();
        break;
      case "kill":
        this.qemu?.kill("SIGKILL");
        break;
      case "power-down": {
        this.qmp ??= await Qmp.connect(this.p.qmpSock, 5_000).catch(() => undefined);
        if (!this.qmp) {
          this.qemu?.kill("SIGKILL");
          break;
        }
        await this.qmp.command("system_powerdown").catch(() => undefined);
        const timer = setTimeout(() => {
          this.life.powerDownTimedOut(timeoutSec);
          this.qemu?.kill("SIGKILL");
        }, timeoutSec * 1000);
        timer.unref();
        break;
      }
      case "wait":
        if (action.escalate) {
          this.buildAbort.abort();
          this.qemu?.kill("SIGKILL");
        }
        break;
      case "done":
        break;
    }
    return reply;
  }

  private async onQemuExit(code: number | undefined, signal: string | null): Promise<void> {
    // qemu sends its SHUTDOWN event just before it exits: read all it said before judging
    // the exit (bounded, for a connection that does not close).
    if (this.qmp) await Promise.race([this.qmp.closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    const ending = this.life.qemuExited(code, signal, this.qemuStderr, this.qmp?.shutdown);
    this.log.update({ exitCode: code ?? null, exitSignal: signal });
    await this.finish(ending);
  }

  /** The last resort for a bug in the monitor itself: end the VM cleanly and say why, rather than die silently. */
  async crash(error: unknown): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    await this.finish({ state: "failed", reason: `the monitor stopped on an internal error: ${message}` });
  }

  /** Ends everything the monitor owns, records the outcome, and exits. */
  private async finish({ state, reason, guestPoweredOff }: Ending): Promise<void> {
    if (!this.life.beginFinish()) return;
    this.qemu?.kill("SIGKILL");
    for (const d of this.daemons) d.kill("SIGTERM");
    await Promise.allSettled([this.qemu, ...this.daemons].filter(Boolean));
    this.qmp?.close();
    await this.provision?.close();
    // Every image root this monitor still holds: after a soft reboot, the record's image and any old root not yet released.
    for (const root of this.roots.splice(0)) if (!root.exported) await unmountImage(root.imageId);
    this.life.finished(state);
    this.log.mark(state);
    const rebooting = this.life.stop?.reboot ? true : undefined;
    this.log.update({
      state,
      reason,
      guestPoweredOff,
      rebooting,
      stoppedAt: now(),
      monitorPid: undefined,
      monitorStartId: undefined,
      qemuPid: undefined,
      qemuStartId: undefined,
      mountedImages: undefined,
    });
    await this.log.flushed();
    // Console viewers are let go only now, so whoever sees the console close can read why.
    await this.serial?.close();
    const reply: StopReply = { ok: true, state, reason };
    this.outcome = reply;
    for (const w of this.stopWaiters.splice(0)) w(reply);
    this.log.endFollowers();
    this.server?.close();
    await rm(this.p.runDir, { recursive: true, force: true });
    // --rm (and --rmi) remove the VM when it stops, but not when it stops to boot again.
    if (this.record.removeOnStop && !rebooting) {
      await rm(this.p.dir, { recursive: true, force: true });
      await rm(bootReportsFile(this.paths, this.record.name), { force: true });
      if (this.record.removeImageOnStop && this.record.imageId)
        await releaseImage(this.paths, this.record.imageId, this.record.podman ? { podman: this.record.podman, ref: this.record.image } : undefined).catch(
          () => undefined,
        );
    }
    // Let replies flush to clients before exiting.
    setTimeout(() => process.exit(state === "failed" ? 1 : 0), 200).unref();
  }

  private async listen(): Promise<void> {
    await ensurePrivateDir(this.p.runDir, this.paths);
    this.server = await listenMonitorSocket(this.p.monitorSock, (req, sock, rest) => this.handle(req, sock, rest));
  }

  private handle(req: MonitorRequest, sock: net.Socket, rest: Buffer): void {
    switch (req.op) {
      case "events":
        this.log.follow(sock);
        return;
      case "console":
        attachViewer(this.serial, this.qemu?.stdin ?? undefined, sock, rest);
        return;
      case "soft-reboot":
        void this.soft.request(req.image, req.timelinePrefix ?? []).then(
          (reply) => sock.end(JSON.stringify({ ok: true, ...reply }) + "\n"),
          (e: Error) => sock.end(JSON.stringify({ ok: false, error: e.message }) + "\n"),
        );
        return;
      case "snapshot":
        void this.snapshot(req.action, req.tag).then(
          () => sock.end(JSON.stringify({ ok: true }) + "\n"),
          (e: Error) => sock.end(JSON.stringify({ ok: false, error: e.message }) + "\n"),
        );
        return;
      case "stop":
        void this.stop(
          !!req.force,
          req.timeoutSec ?? STOP_TIMEOUT_SEC,
          req.reboot ? "stopped to boot again" : req.force ? "force-stopped by the user" : "stopped by the user",
          "stopped",
          !!req.reboot,
        ).then((reply) => sock.end(JSON.stringify(reply) + "\n"));
        return;
      default:
        sock.end(JSON.stringify({ ok: false, error: "unknown op" }) + "\n");
    }
  }
}
