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
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { readTail } from "../../file-tail.js";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError, isBootcError } from "../../errors.js";
import { findVirtiofsd, hostArch, requireTool } from "../../host/tools.js";
import { ensureBaseDisk } from "../../disk/boot.js";
import { diskFile, entryDir } from "../../disk/cache.js";
import { directDiskKernelArgs } from "../../disk/direct.js";
import type { ConsoleAttachment } from "../../monitor/client.js";
import type { MonitorEvent } from "../../monitor/protocol.js";
import { libvirtRunDir, libvirtVmDir, type EnginePaths } from "../../paths.js";
import { guestCredentials } from "../../provision/credentials.js";
import { translateKickstart } from "../../provision/kickstart.js";
import { consoleDevice } from "../../qemu/cmdline.js";
import { VmRecordSchema, type VmRecord, type VmState } from "../../record.js";
import { hostAlias } from "../../ssh/hostkey.js";
import { sshExec, type SshTarget } from "../../ssh/exec.js";
import type { VmInfo } from "../../vm/status.js";
import { HOST_ALIAS, type Connection } from "./connection.js";
import { domainXml, readDomainMetadata } from "./domain.js";
import { knownHosts, type Host } from "./hosts.js";
import { hostExec, hostSshArgs, openForward, openTunnel, virsh, virshMaybe } from "./virsh.js";
import { baseVolumes, deleteVolume, ensureBase, ensureOverlay, ensurePool, overlayVolume, poolPath } from "./volumes.js";
import { freePort } from "../../vm/options.js";
import { writePrivateFile } from "../../private-file.js";

/** What a libvirt VM needs beyond its record, all derived from the connection and its name. */
function hostFiles(c: Connection, name: string, poolDir: string) {
  const system = c.instance === "system";
  return {
    serialSocket: system ? `/var/lib/libvirt/qemu/bootc-${name}.serial` : path.join(poolDir, `bootc-vm-${name}.serial`),
    serialLog: system ? `/var/log/libvirt/qemu/bootc-${name}-serial.log` : path.join(poolDir, `bootc-vm-${name}-serial.log`),
  };
}

/** hostFiles for an existing VM: the system instance's need no call to libvirt, and nothing is created. */
async function existingHostFiles(host: Host, name: string) {
  const c = host.connection;
  return hostFiles(c, name, c.instance === "system" ? "" : await poolPath(c, host.pool));
}

/** libvirt's domain state (virsh dominfo) as a VM state. */
export function stateOf(libvirtState: string): VmState {
  if (/^running|^paused|^idle|^pmsuspended/.test(libvirtState)) return "running";
  if (/^in shutdown/.test(libvirtState)) return "stopping";
  if (/^crashed/.test(libvirtState)) return "failed";
  return "stopped";
}

export interface LibvirtCreate {
  record: VmRecord;
  host: Host;
  /** A key made for the VM goes into its local directory; otherwise `identity` is the user's. */
  makeKey: (file: string) => Promise<void>;
  publicKey: () => Promise<string>;
  kickstart?: string;
  onEvent: (e: MonitorEvent) => void;
}

/**
 * A libvirt VM's credentials are in its domain definition, which libvirt's read-only socket
 * shows to every local user of the libvirt host (virsh -r dumpxml): a kickstart that sets
 * passwords is refused (the engine refuses --password likewise).
 */
export function refuseKickstartSecrets(kickstart: string): void {
  if (!translateKickstart(kickstart, "the kickstart").files.some((f) => f.secret)) return;
  throw new BootcError("INVALID_ARGUMENT", "the kickstart sets passwords, which a libvirt VM's definition would show to every user who can read it (virsh -r dumpxml)", "drop rootpw and user --password from the kickstart (use sshkey), or run the VM without --connect");
}

const RANDOM_PORT = () => 20_000 + Math.floor(Math.random() * 40_000);

/** How long a listing is reused: the web console asks every second, a remote host costs SSH handshakes. */
const LIST_TTL_MS = 3000;

export class LibvirtVms {
  private listed?: { at: number; result: Promise<{ vms: VmInfo[]; unreachable: Array<{ host: string; reason: string }> }> };

  constructor(private readonly paths: EnginePaths) {}

  /** A change made here shows in the next listing at once. */
  private changed(): void {
    this.listed = undefined;
  }

  private runDir = () => libvirtRunDir(this.paths);

  /** The host a VM made from this machine lives on (saved in its local directory), if any. */
  private async hintedHost(name: string): Promise<string | undefined> {
    return (await readFile(path.join(libvirtVmDir(this.paths, name), "connection"), "utf8").catch(() => undefined))?.trim();
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
    const field = (k: string) => info.find((l) => l.startsWith(`${k}:`))?.slice(k.length + 1).trim() ?? "";
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

  async get(name: string): Promise<{ host: Host; vm: VmInfo }> {
    const found = await this.find(name);
    if (!found) throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    return found;
  }

  /** Every bootc VM on every known host; a host that cannot be reached is reported, not fatal. */
  list(): Promise<{ vms: VmInfo[]; unreachable: Array<{ host: string; reason: string }> }> {
    if (this.listed && Date.now() - this.listed.at < LIST_TTL_MS) return this.listed.result;
    const result = this.listNow();
    this.listed = { at: Date.now(), result };
    return result;
  }

  private async listNow(): Promise<{ vms: VmInfo[]; unreachable: Array<{ host: string; reason: string }> }> {
    const vms: VmInfo[] = [];
    const unreachable: Array<{ host: string; reason: string }> = [];
    const hosts = await knownHosts(this.paths);
    const uris = new Set(hosts.map((h) => h.uri));
    for (const host of hosts) {
      try {
        const names = (await virsh(host.connection, ["list", "--all", "--name"])).split("\n").map((n) => n.trim()).filter(Boolean);
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

  async create(o: LibvirtCreate): Promise<VmInfo> {
    const { host, record } = o;
    const c = host.connection;
    this.changed();
    const disk = record.disk;
    if (!disk || disk.builder === "premade") throw new BootcError("INVALID_ARGUMENT", "libvirt VMs boot images (--mode disk); a premade --disk runs with the direct runtime only", "leave out --connect, or boot the image");
    const firstBoot = o.kickstart !== undefined ? translateKickstart(o.kickstart, "the kickstart") : undefined;
    const existing = await virshMaybe(c, ["dominfo", record.name]);
    if (existing !== undefined) throw new BootcError("VM_EXISTS", `a libvirt domain named "${record.name}" already exists on ${host.name}`, `pick another --name, or remove it first: bootc rm ${record.name}`);
    const dir = libvirtVmDir(this.paths, record.name);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const timeline = (event: string) => o.onEvent({ type: "timeline", event, at: new Date().toISOString() } as MonitorEvent);
    const progress = (step: string) => o.onEvent({ type: "progress", step } as MonitorEvent);
    let defined = false;
    try {
      await writePrivateFile(path.join(dir, "connection"), c.uri + "\n");
      if (record.generatedKey) await o.makeKey(record.identity);
      const poolDir = await ensurePool(c, host.pool);
      const { entry, reused } = await ensureBaseDisk(this.paths, { image: record.image, imageId: record.imageId, builder: disk.builder, sizeBytes: disk.sizeBytes, filesystem: disk.filesystem }, (p) => progress(p.step));
      timeline(reused ? "disk-reused" : "disk-built");
      const edir = entryDir(this.paths, entry.key);
      const sizeOf = async (f: string) => (await stat(f)).size;
      const direct = entry.builder === "direct";
      const kernelFile = path.join(edir, entry.kernel ?? "vmlinuz");
      const initrdFile = path.join(edir, entry.initrd ?? "initramfs.img");
      const uploaded = await ensureBase(this.paths, c, host.pool, {
        key: entry.key,
        disk: diskFile(edir),
        sizeBytes: entry.sizeBytes,
        ...(direct ? { kernel: { file: kernelFile, sizeBytes: await sizeOf(kernelFile) }, initrd: { file: initrdFile, sizeBytes: await sizeOf(initrdFile) } } : {}),
      }, progress);
      timeline(uploaded.reused ? "base-volume-reused" : "base-volume-uploaded");
      await ensureOverlay(c, host.pool, record.name, entry.key, disk.sizeBytes);

      const arch = hostArch();
      // libvirt starts qemu with multi-threaded TCG (one host thread per vCPU) and has no way
      // to ask for single-threaded TCG, under which Debian 13's kernel panicked in 2 of ~30
      // boots (docs/engine.md, "The qemu command line"). One vCPU has one thread: safe.
      const cpus = record.accel === "tcg" ? 1 : record.cpus;
      if (cpus !== record.cpus) o.onEvent({ type: "warning", message: `emulated (TCG) libvirt VMs get 1 vCPU, not ${record.cpus}: libvirt cannot ask qemu for the single-threaded TCG that ${record.cpus} vCPUs need to boot reliably` } as MonitorEvent);
      const shares = record.binds.map((b, i) => ({ tag: `bind${i + 1}`, guestPath: b.guest, readOnly: b.readOnly }));
      const virtiofsd = shares.length ? (await findVirtiofsd()).path : undefined;
      let creds;
      try {
        creds = guestCredentials({
          user: record.sshUser,
          publicKey: await o.publicKey(),
          shares,
          systemd: entry.guestSystemd,
          imageUsers: entry.users,
          autologinTty: record.autologin ? consoleDevice(arch) : undefined,
          firstBoot,
        });
      } catch (e) {
        throw new BootcError("INVALID_ARGUMENT", (e as Error).message, "boot without that option, or use an image with a newer systemd");
      }
      const files = hostFiles(c, record.name, poolDir);
      const volumePath = async (vol: string) => (await virsh(c, ["vol-path", "--pool", host.pool, vol])).trim();
      const kernel = direct
        ? { kernel: await volumePath(baseVolumes(entry.key).kernel), initrd: await volumePath(baseVolumes(entry.key).initrd), cmdline: directDiskKernelArgs(record.kargs) }
        : undefined;
      const oemStrings = creds.credentials.map((cr) => `io.systemd.credential.binary:${cr.name}=${Buffer.from(cr.value).toString("base64")}`);
      for (const w of creds.warnings) o.onEvent({ type: "warning", message: w } as MonitorEvent);

      // The SSH port is on the libvirt host's loopback; on another host bootc cannot see which
      // ports are free, so a taken one is noticed at start and another is tried.
      for (let attempt = 1; ; attempt++) {
        const sshPort = c.local ? await freePort() : RANDOM_PORT();
        const meta: VmRecord = { ...record, cpus, connection: c.uri, hostName: host.name, disk: { ...disk, base: entry.key }, ...(entry.sshd ? { sshPort } : {}), guestSystemd: entry.guestSystemd, credentialsVia: "smbios", state: "running" };
        const xml = domainXml({
          name: record.name, arch, accel: record.accel, cpus, memoryMiB: record.memoryMiB,
          pool: host.pool, overlayVolume: overlayVolume(record.name), kernel, ...files,
          sshPort, forwards: record.forwards, oemStrings, metadata: stripRuntime(meta),
          shares: record.binds.map((b, i) => ({ dir: b.host, tag: shares[i]!.tag, readOnly: b.readOnly })), virtiofsd,
        });
        const xmlFile = path.join(dir, "domain.xml");
        await writePrivateFile(xmlFile, xml);
        await virsh(c, ["define", xmlFile]);
        defined = true;
        await rm(xmlFile, { force: true });
        try {
          await virsh(c, ["start", record.name]);
          break;
        } catch (e) {
          if (attempt < 3 && /host forwarding rule|Could not set up host forwarding/i.test((e as Error).message)) continue;
          throw e;
        }
      }
      timeline("domain-started");
      if (record.autostart) await virsh(c, ["autostart", record.name]);
      return (await this.readVm(host, record.name))!;
    } catch (e) {
      // Nothing half-made stays: the domain, its overlay and the local key go; the base stays cached.
      if (defined) await virsh(c, ["undefine", record.name]).catch(() => undefined);
      await deleteVolume(c, host.pool, overlayVolume(record.name)).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Waits until SSH answers (pinning the guest's host key), or until the domain runs for a guest without sshd. */
  async waitFor(name: string, onEvent: (e: MonitorEvent) => void): Promise<VmInfo> {
    const { host, vm } = await this.get(name);
    const deadline = Date.now() + vm.readyTimeoutSec * 1000;
    if (vm.sshPort === undefined) return vm;
    const target = await this.targetOf(host, vm, { pin: false });
    for (;;) {
      const now = await this.readVm(host, name);
      if (!now || now.effectiveState !== "running") {
        throw new BootcError("BOOT_FAILED", `VM "${name}" did not boot: the domain is ${now ? now.effectiveState : "gone"}`, `see the serial log: bootc logs ${name}`);
      }
      const ok = await sshExec(target, "true", { learn: true, timeoutMs: 20_000 }).then((r) => r.code === 0, () => false);
      if (ok) {
        onEvent({ type: "timeline", event: "ssh-ready", at: new Date().toISOString() } as MonitorEvent);
        return { ...now, effectiveState: "ssh-ready" };
      }
      if (Date.now() > deadline) throw new BootcError("BOOT_TIMEOUT", `VM "${name}" did not answer SSH within ${vm.readyTimeoutSec} s`, `see the serial log: bootc logs ${name}`);
      await sleep(2000);
    }
  }

  async stop(name: string, opts: { force?: boolean; timeoutSec?: number }): Promise<VmInfo> {
    this.changed();
    const { host, vm } = await this.get(name);
    const c = host.connection;
    if (vm.effectiveState === "stopped") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (stopped)`);
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
    if (vm.removeOnStop) {
      await this.remove(name, { force: true });
      return { ...vm, state: "stopped", effectiveState: "stopped" };
    }
    return (await this.readVm(host, name)) ?? { ...vm, state: "stopped", effectiveState: "stopped" };
  }

  async start(name: string): Promise<VmInfo> {
    this.changed();
    const { host, vm } = await this.get(name);
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${vm.effectiveState})`);
    await virsh(host.connection, ["start", name]);
    return (await this.readVm(host, name))!;
  }

  async setAutostart(name: string, on: boolean): Promise<void> {
    const { host } = await this.get(name);
    await virsh(host.connection, ["autostart", ...(on ? [] : ["--disable"]), name]);
  }

  /** Removes the domain, its overlay volume, its serial log and the local key; the base volume stays (the host's cache). */
  async remove(name: string, opts: { force?: boolean }): Promise<void> {
    this.changed();
    const { host, vm } = await this.get(name);
    const c = host.connection;
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") {
      if (!opts.force) throw new BootcError("VM_RUNNING", `VM "${name}" is running`, `stop it first (bootc stop ${name}) or use: bootc rm --force ${name}`);
      await virshMaybe(c, ["destroy", name]);
    }
    await virsh(c, ["undefine", name, ...(vm.disk?.builder === "install" ? ["--nvram"] : [])]);
    await deleteVolume(c, host.pool, overlayVolume(name));
    const files = await existingHostFiles(host, name);
    if (c.local) await rm(files.serialLog, { force: true });
    else await hostExec(c, this.runDir(), `rm -f ${files.serialLog}`);
    await rm(libvirtVmDir(this.paths, name), { recursive: true, force: true });
  }

  /** How SSH reaches the guest: its forwarded port on the libvirt host, through an SSH tunnel for a remote one. */
  async sshTarget(name: string, opts: { pin?: boolean } = {}): Promise<SshTarget> {
    const { host, vm } = await this.get(name);
    return this.targetOf(host, vm, opts);
  }

  private async targetOf(host: Host, vm: VmInfo, opts: { pin?: boolean } = {}): Promise<SshTarget> {
    const name = vm.name;
    if (vm.sshPort === undefined) throw new BootcError("SSH_FAILED", `VM "${name}" has no SSH (the image has no sshd)`, `use the serial console: bootc console ${name}`);
    if (vm.effectiveState !== "running") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `start it: bootc start ${name}`);
    const c = host.connection;
    const port = vm.sshPort;
    const knownHostsFile = path.join(libvirtVmDir(this.paths, name), "known_hosts");
    const target: SshTarget = {
      vmName: name,
      port,
      user: vm.sshUser,
      identity: vm.identity,
      knownHosts: knownHostsFile,
      ...(c.local
        ? {}
        : {
            openStream: () => openForward(c, this.runDir(), port),
          }),
    };
    // Nothing watches a libvirt VM's boot to pin its host key (bootc run and start do, as they
    // wait): a VM booted otherwise (the web console, virsh) is pinned at its first use.
    if (opts.pin !== false && !(await stat(knownHostsFile).then(() => true, () => false))) {
      await sshExec(target, "true", { learn: true, timeoutMs: 20_000 }).catch((e: Error) => {
        throw new BootcError("SSH_FAILED", `VM "${name}" does not answer SSH yet (${e.message})`, `wait for it to finish booting (bootc logs ${name})`);
      });
    }
    return target;
  }

  /** The OpenSSH command line; for a remote host it jumps through the host (ProxyJump). */
  async sshCommand(name: string, remote: string | undefined, tty?: boolean): Promise<{ file: string; args: string[] }> {
    const { host, vm } = await this.get(name);
    const t = await this.targetOf(host, vm);
    const jump = host.connection.local ? [] : [...(await hostSshArgs(host.connection, this.runDir())), "-J", HOST_ALIAS];
    const args = [
      ...jump,
      "-i", t.identity,
      "-p", String(t.port),
      "-o", "IdentitiesOnly=yes",
      "-o", `HostKeyAlias=${hostAlias(name)}`,
      "-o", `UserKnownHostsFile=${t.knownHosts}`,
      "-o", "StrictHostKeyChecking=yes",
      "-o", "LogLevel=ERROR",
      ...(tty === undefined ? [] : [tty ? "-t" : "-T"]),
      `${t.user}@127.0.0.1`,
      ...(remote !== undefined ? ["--", remote] : []),
    ];
    return { file: requireTool("ssh"), args };
  }

  /** The serial console: the domain's console socket, directly or through an SSH tunnel. */
  async console(name: string): Promise<ConsoleAttachment> {
    const { host, vm } = await this.get(name);
    if (vm.effectiveState !== "running") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `start it: bootc start ${name}`);
    const c = host.connection;
    const files = await existingHostFiles(host, name);
    const tunnel = c.local ? undefined : await openTunnel(c, this.runDir(), { socket: files.serialSocket });
    const socket = net.connect(tunnel?.path ?? files.serialSocket);
    socket.once("close", () => tunnel?.close());
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", (e) => reject(new BootcError("VM_NOT_RUNNING", `the serial console of "${name}" cannot be reached: ${e.message}`))));
    return { socket, replayBytes: 0 };
  }

  /** The last `maxBytes` of the serial log, which libvirt keeps on its host. */
  async readLog(name: string, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    const { host } = await this.get(name);
    const c = host.connection;
    const files = await existingHostFiles(host, name);
    if (!c.local) {
      const r = await hostExec(c, this.runDir(), `tail -c ${maxBytes + 1} ${files.serialLog} 2>/dev/null || true`);
      return { text: r.stdout.length > maxBytes ? r.stdout.slice(1) : r.stdout, truncated: r.stdout.length > maxBytes };
    }
    return readTail(files.serialLog, maxBytes);
  }
}

/** The record as stored in the domain: what describes the VM, not what one boot of it did. */
function stripRuntime(r: VmRecord): VmRecord {
  const { monitorPid: _m, monitorStartId: _ms, qemuPid: _q, qemuStartId: _qs, qemuArgs: _a, ...rest } = r;
  return { ...rest, timeline: [] };
}
