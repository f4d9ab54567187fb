/**
 * The libvirt runtime: disk-mode VMs as persistent libvirt domains, on this host
 * (qemu:///system) or another one (qemu+ssh://). libvirt owns the VM — it survives bootc,
 * a restart of libvirtd, and with --autostart a reboot of the host — and is the one source
 * of truth: a VM's record lives in its domain's metadata, its state is the domain's state.
 * This machine keeps only the VM's SSH key and pinned host key (paths.libvirtVmDir).
 *
 * The direct runtime's monitor watches the serial console and probes SSH to say
 * "ssh-ready"; here nothing watches a running domain, so a running one is "running" and
 * whoever needs SSH (run, ssh) tries it.
 */
import { readFile, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Writable } from "node:stream";
import { BootcError, isBootcError } from "../../core/errors.js";
import { bootReportsFile, libvirtRunDir, libvirtVmDir, libvirtVmPaths, type EnginePaths } from "../../core/paths.js";
import { newBoot, VmRecordSchema, type VmRecord, type VmState } from "../../core/record.js";
import type { ParsedRunOptions } from "../../core/schema.js";
import type { ConsoleAttachment, VmEvent, VmInfo } from "../../core/vm.js";
import { releaseImage } from "../../disk/disks.js";
import { readKickstart } from "../../provision/inputs.js";
import { sshArgv } from "../../ssh/command.js";
import type { SshTarget } from "../../ssh/exec.js";
import type { CreateRequest, Listing, RebootOptions, RestoreResult, StopOptions, VmRuntime } from "../runtime.js";
import type { SnapshotInfo } from "../../disk/snapshot-plan.js";
import { HOST_ALIAS } from "./connection.js";
import { defineAndStart, refuseKickstartSecrets, settleForLibvirt } from "./create.js";
import { readDomainMetadata } from "./domain.js";
import { existingHostFiles } from "./host-files.js";
import { waitForDomainSsh } from "./wait.js";
import { knownHosts, rememberHost, resolveHost, type Host } from "./hosts.js";
import { PendingVms } from "./pending.js";
import { attachSerial, followSerialLog, readSerialLog, sshTargetOf } from "./reach.js";
import { hostExec, hostSshArgs, virsh, virshMaybe } from "./virsh.js";
import { deleteVolume, ensurePool, overlayVolume, seedVolume } from "./volumes.js";

/** libvirt's domain state (virsh dominfo) as a VM state. */
export function stateOf(libvirtState: string): VmState {
  if (/^running|^paused|^idle|^pmsuspended/.test(libvirtState)) return "running";
  if (/^in shutdown/.test(libvirtState)) return "stopping";
  if (/^crashed/.test(libvirtState)) return "failed";
  return "stopped";
}

/** How long a listing is reused: the web console asks every second, a remote host costs SSH handshakes. */
const LIST_TTL_MS = 3000;

export class LibvirtRuntime implements VmRuntime {
  private listed?: { at: number; result: Promise<Listing> };
  private readonly pending = new PendingVms();

  constructor(private readonly paths: EnginePaths) {}

  /** A change made here shows in the next listing at once. */
  private changed(): void {
    this.listed = undefined;
  }

  private runDir = () => ({ dir: libvirtRunDir(this.paths), paths: this.paths });

  /** Whether a known host runs a bootc VM of that name (asks libvirt: the registry asks this runtime last). */
  async has(name: string): Promise<boolean> {
    return this.pending.has(name) || (await this.find(name)) !== undefined;
  }

  async settle(opts: ParsedRunOptions): Promise<ParsedRunOptions> {
    return settleForLibvirt(opts, (await resolveHost(this.paths, opts.connect!)).connection.local);
  }

  /** The host a VM made from this machine lives on (saved in its local directory), if any. */
  private async hintedHost(name: string): Promise<string | undefined> {
    return (await readFile(libvirtVmPaths(this.paths, name).connection, "utf8").catch(() => undefined))?.trim();
  }

  /**
   * Reads one domain as a VM; undefined when there is no such domain or bootc did not make
   * it. `madeOn` is the connection it was made through (one libvirt can be saved twice, as
   * qemu:///system and over SSH: a listing shows each VM once, under the host it was made on).
   */
  private async readVm(host: Host, name: string): Promise<(VmInfo & { madeOn?: string }) | undefined> {
    const c = host.connection;
    const xml = await virshMaybe(c, ["dumpxml", name]);
    if (xml === undefined) return undefined;
    const parsed = VmRecordSchema.safeParse(readDomainMetadata(xml));
    if (!parsed.success) return undefined;
    const info = (await virsh(c, ["dominfo", name])).split("\n");
    const field = (k: string) =>
      info
        .find((l) => l.startsWith(`${k}:`))
        ?.slice(k.length + 1)
        .trim() ?? "";
    const state = stateOf(field("State"));
    return {
      ...parsed.data,
      madeOn: parsed.data.connection,
      name,
      connection: c.uri,
      hostName: host.name,
      autostart: field("Autostart") === "enable",
      state,
      effectiveState: state,
    };
  }

  /** Finds a VM on the known hosts (the one it was made on first); undefined if none has it. */
  async find(name: string): Promise<{ host: Host; vm: VmInfo } | undefined> {
    const hosts = await knownHosts(this.paths);
    const hint = await this.hintedHost(name);
    hosts.sort((a, b) => Number(b.uri === hint) - Number(a.uri === hint));
    for (const host of hosts) {
      const vm = await this.readVm(host, name).catch((e: unknown) => {
        if (isBootcError(e) && e.code === "HOST_UNREACHABLE" && host.uri !== hint) return undefined;
        throw e;
      });
      if (vm) {
        const { madeOn: _m, ...info } = vm;
        return { host, vm: info };
      }
    }
    return undefined;
  }

  async get(name: string): Promise<VmInfo> {
    return this.pending.get(name) ?? (await this.locate(name)).vm;
  }

  private async locate(name: string): Promise<{ host: Host; vm: VmInfo }> {
    if (this.pending.has(name))
      throw new BootcError(
        "VM_BUSY",
        `VM "${name}" is still being made (base disk, upload, definition)`,
        `wait for it: bootc list shows it once libvirt runs it`,
      );
    const found = await this.find(name);
    if (!found) throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    return found;
  }

  /** Every bootc VM on every known host; a host that cannot be reached is reported, not fatal. */
  async list(): Promise<Listing> {
    if (!this.listed || Date.now() - this.listed.at >= LIST_TTL_MS) this.listed = { at: Date.now(), result: this.listNow() };
    const listing = await this.listed.result;
    const making = this.pending.list();
    return { ...listing, vms: [...listing.vms.filter((v) => !making.some((m) => m.name === v.name)), ...making] };
  }

  private async listNow(): Promise<Listing> {
    const vms: VmInfo[] = [];
    const unreachable: Array<{ host: string; reason: string }> = [];
    const hosts = await knownHosts(this.paths);
    const uris = new Set(hosts.map((h) => h.uri));
    for (const host of hosts) {
      try {
        const names = (await virsh(host.connection, ["list", "--all", "--name"]))
          .split("\n")
          .map((n) => n.trim())
          .filter(Boolean);
        const found = await Promise.all(names.map((n) => this.readVm(host, n).catch(() => undefined)));
        for (const vm of found) {
          if (!vm || (vm.madeOn && vm.madeOn !== host.uri && uris.has(vm.madeOn))) continue;
          const { madeOn: _m, ...info } = vm;
          vms.push(info);
        }
      } catch (e) {
        unreachable.push({ host: host.name, reason: (e as Error).message });
      }
    }
    return { vms, unreachable };
  }

  /**
   * Checks what can be checked at once (the host answers, no domain of that name, no secrets
   * in the kickstart), then makes the VM in the background: `waitFor` and `events` follow it.
   */
  async create(req: CreateRequest): Promise<VmRecord> {
    const name = req.record.name;
    const host = await resolveHost(this.paths, req.opts.connect!);
    if (req.kickstart !== undefined) refuseKickstartSecrets(req.kickstart);
    if ((await virshMaybe(host.connection, ["dominfo", name])) !== undefined) {
      throw new BootcError(
        "VM_EXISTS",
        `a libvirt domain named "${name}" already exists on ${host.name}`,
        `pick another --name, or remove it first: bootc rm ${name}`,
      );
    }
    if (this.pending.has(name)) throw new BootcError("VM_EXISTS", `a VM named "${name}" is being made already`, "pick another --name");
    await ensurePool(host.connection, host.pool); // a pool that does not exist is said now, not by a failed boot
    const record = { ...req.record, connection: host.connection.uri, hostName: host.name };
    this.pending.start(
      record,
      async (emit) => {
        await defineAndStart(this.paths, host, { ...req, record, onEvent: emit });
        await rememberHost(this.paths, host);
      },
      () => this.changed(),
    );
    this.changed();
    return record;
  }

  /**
   * Waits until SSH answers (pinning the guest's host key), or until the domain runs for a
   * guest without sshd. A domain that stops, or whose serial log shows a kernel panic, ends
   * the wait at once with why.
   */
  async waitFor(name: string, target: "running" | "ssh-ready", onEvent: (e: VmEvent) => void): Promise<VmInfo> {
    const unfollow = this.pending.follow(name, onEvent);
    try {
      await this.pending.settled(name);
    } catch (e) {
      throw new BootcError(
        "BOOT_FAILED",
        `VM "${name}" could not be made: ${(e as Error).message}`,
        isBootcError(e) && e.hint ? e.hint : `see bootc logs ${name}`,
      );
    } finally {
      unfollow?.();
    }
    const { host, vm } = await this.locate(name);
    if (target === "running" || vm.sshPort === undefined) return vm;
    const ready = await waitForDomainSsh(
      { paths: this.paths, read: (n) => this.readVm(host, n), readLog: (n, max) => this.readLog(n, "serial", max) },
      host,
      vm,
    );
    onEvent({ type: "timeline", event: "ssh-ready", at: new Date().toISOString() });
    return ready;
  }

  /** Nothing watches a libvirt domain: a follower gets its current state once, and the stream stays open until closed. */
  async events(name: string, onEvent: (e: VmEvent) => void): Promise<{ close: () => void; closed: Promise<void> }> {
    let close = () => undefined as void;
    const closed = new Promise<void>((resolve) => (close = resolve));
    const unfollow = this.pending.follow(name, onEvent);
    if (unfollow) {
      // Once made, a follower gets the domain's state; a failure ends the stream.
      void this.pending
        .settled(name)
        .then(
          async () => onEvent({ type: "snapshot", record: await this.get(name) }),
          () => close(),
        )
        .finally(unfollow);
    } else {
      onEvent({ type: "snapshot", record: await this.get(name) });
    }
    return { close, closed };
  }

  async stop(name: string, opts: StopOptions): Promise<VmInfo> {
    this.changed();
    const { host, vm } = await this.locate(name);
    if (vm.effectiveState === "stopped") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (stopped)`);
    await this.powerOff(host, name, opts);
    if (vm.removeOnStop) {
      await this.remove(name, { force: true });
      if (vm.removeImageOnStop && vm.imageId)
        await releaseImage(this.paths, vm.imageId, vm.podman ? { podman: vm.podman, ref: vm.image } : undefined).catch(() => undefined);
      return { ...vm, state: "stopped", effectiveState: "stopped" };
    }
    return (await this.readVm(host, name)) ?? { ...vm, state: "stopped", effectiveState: "stopped" };
  }

  /** ACPI power button first (unless forced); a guest that does not power off in time is destroyed. */
  private async powerOff(host: Host, name: string, opts: StopOptions): Promise<void> {
    const c = host.connection;
    if (!opts.force) {
      // ACPI power button first; a guest that does not power off in time is destroyed.
      await virsh(c, ["shutdown", name]).catch(() => undefined);
      const deadline = Date.now() + (opts.timeoutSec ?? 60) * 1000;
      while (Date.now() < deadline) {
        if ((await this.readVm(host, name))?.effectiveState === "stopped") break;
        await sleep(1000);
      }
    }
    const now = await this.readVm(host, name);
    if (now && now.effectiveState !== "stopped") await virsh(c, ["destroy", name]);
  }

  async start(name: string): Promise<VmRecord> {
    this.changed();
    const { host, vm } = await this.locate(name);
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed")
      throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${vm.effectiveState})`);
    await virsh(host.connection, ["start", name]);
    return (await this.readVm(host, name))!;
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    const { host } = await this.locate(name);
    await virsh(host.connection, ["autostart", ...(on ? [] : ["--disable"]), name]);
  }

  /** Removes the domain, its overlay volume, its serial log and the local key; the base volume stays (the host's cache). */
  async remove(name: string, opts: { force?: boolean }): Promise<void> {
    this.changed();
    const { host, vm } = await this.locate(name);
    const c = host.connection;
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") {
      if (!opts.force) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, `stop it first (bootc stop ${name}) or use: bootc rm --force ${name}`);
      await virshMaybe(c, ["destroy", name]);
    }
    await undefine(host, vm);
    const files = await existingHostFiles(host, name);
    if (c.local) await rm(files.serialLog, { force: true });
    else await hostExec(c, this.runDir(), `rm -f ${files.serialLog}`);
    await rm(libvirtVmDir(this.paths, name), { recursive: true, force: true });
    await rm(bootReportsFile(this.paths, name), { force: true });
  }

  /** How SSH reaches the guest: its forwarded port on the libvirt host, through an SSH tunnel for a remote one. */
  async sshTarget(name: string, opts: { pin?: boolean } = {}): Promise<SshTarget> {
    const { host, vm } = await this.locate(name);
    return sshTargetOf(this.paths, host, vm, opts);
  }

  /** The OpenSSH command line; for a remote host it jumps through the host (ProxyJump). */
  async sshCommand(name: string, remote: string | undefined, tty?: boolean): Promise<{ file: string; args: string[] }> {
    const { host, vm } = await this.locate(name);
    const jump = host.connection.local ? [] : [...(await hostSshArgs(host.connection, this.runDir())), "-J", HOST_ALIAS];
    return sshArgv(await sshTargetOf(this.paths, host, vm), { remote, tty, jump });
  }

  /** A viewer opened while the VM is being made waits for it (as the direct runtime's does for its qemu). */
  async console(name: string): Promise<ConsoleAttachment> {
    await this.pending.settled(name).catch(() => undefined);
    const { host, vm } = await this.locate(name);
    return attachSerial(this.paths, host, vm);
  }

  /** The serial log, which libvirt keeps on its host (libvirt's runtime has no log of its own here). */
  async readLog(name: string, which: "serial" | "monitor", maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    const { host } = await this.locate(name);
    return which === "serial" ? readSerialLog(this.paths, host, name, maxBytes) : { text: "", truncated: false };
  }

  async followLog(name: string, out: Writable, signal?: AbortSignal): Promise<void> {
    const { host } = await this.locate(name);
    const running = async () => (await this.readVm(host, name).catch(() => undefined))?.effectiveState === "running";
    await followSerialLog(this.paths, host, name, out, running, signal);
  }

  /**
   * A restart, or a rebuild's reboot into a new image: a new image is a new disk, so the
   * domain is defined anew around an overlay on the new image's base, with the same name,
   * options, key and port forwards (the kickstart and cloud-init directory are read again).
   */
  async reboot(name: string, o: RebootOptions = {}): Promise<VmRecord> {
    this.changed();
    const { host, vm } = await this.locate(name);
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") await this.powerOff(host, name, { timeoutSec: 60 });
    if (!o.image) return this.start(name);
    const stopped = [...(o.timelinePrefix ?? []), { event: "previous-boot-stopped", at: new Date().toISOString() }];
    const record = { ...newBoot(vm, stopped), image: o.image.ref, imageId: o.image.id };
    const kickstart = vm.kickstart ? await readKickstart(vm.kickstart) : undefined;
    if (kickstart !== undefined) refuseKickstartSecrets(kickstart);
    await undefine(host, vm);
    // A new disk has new host keys: the next wait pins the new one (as each direct boot does).
    await rm(libvirtVmPaths(this.paths, name).knownHosts, { force: true });
    try {
      await defineAndStart(this.paths, host, { record, kickstart, cloudInitDir: vm.cloudInit?.dir, onEvent: () => undefined });
    } catch (e) {
      throw new BootcError(
        "BOOT_FAILED",
        `VM "${name}" could not be defined again with the new image, and is gone from ${host.name}: ${(e as Error).message}`,
        `boot the image again: bootc run --connect ${host.name} --mode disk ${o.image.ref}`,
      );
    }
    return (await this.readVm(host, name))!;
  }

  /** libvirt keeps its own snapshots (virsh snapshot-create-as); bootc does not drive them yet. */
  private async noSnapshots(name: string): Promise<never> {
    await this.locate(name);
    throw new BootcError(
      "INVALID_ARGUMENT",
      `VM "${name}" runs under libvirt, and bootc takes snapshots of its own VMs only`,
      `use libvirt's: virsh snapshot-create-as ${name} TAG (or boot the image without --connect)`,
    );
  }
  listSnapshots(name: string): Promise<SnapshotInfo[]> {
    return this.noSnapshots(name);
  }
  createSnapshot(name: string): Promise<SnapshotInfo> {
    return this.noSnapshots(name);
  }
  restoreSnapshot(name: string): Promise<RestoreResult> {
    return this.noSnapshots(name);
  }
  removeSnapshot(name: string): Promise<void> {
    return this.noSnapshots(name);
  }
  exportWarm(name: string): Promise<void> {
    return this.noSnapshots(name);
  }
}

/** Removes the domain (and its UEFI variables), its overlay and its seed volume; the base volume stays. */
async function undefine(host: Host, vm: VmInfo): Promise<void> {
  const c = host.connection;
  await virsh(c, ["undefine", vm.name, ...(vm.disk?.builder !== "direct" ? ["--nvram"] : [])]);
  await deleteVolume(c, host.pool, overlayVolume(vm.name));
  await deleteVolume(c, host.pool, seedVolume(vm.name));
}
