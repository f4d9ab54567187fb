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
import { readFile, rm, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import net from "node:net";
import path from "node:path";
import type { Writable } from "node:stream";
import { BootcError, isBootcError } from "../../core/errors.js";
import { followFile, readTail } from "../../core/file-tail.js";
import { libvirtRunDir, libvirtVmDir, type EnginePaths } from "../../core/paths.js";
import { VmRecordSchema, type VmRecord, type VmState } from "../../core/record.js";
import type { ParsedRunOptions } from "../../core/schema.js";
import type { ConsoleAttachment, VmEvent, VmInfo } from "../../core/vm.js";
import { kernelPanicked } from "../../host/machine.js";
import { sshArgv } from "../../ssh/command.js";
import { sshExec, type SshTarget } from "../../ssh/exec.js";
import { waitForSsh } from "../../ssh/ready.js";
import type { CreateRequest, Listing, StopOptions, VmRuntime } from "../runtime.js";
import { HOST_ALIAS } from "./connection.js";
import { defineAndStart, refuseKickstartSecrets, settleForLibvirt } from "./create.js";
import { readDomainMetadata } from "./domain.js";
import { existingHostFiles } from "./host-files.js";
import { knownHosts, rememberHost, resolveHost, type Host } from "./hosts.js";
import { hostExec, hostSshArgs, openForward, openTunnel, virsh, virshMaybe } from "./virsh.js";
import { deleteVolume, overlayVolume } from "./volumes.js";

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

  constructor(private readonly paths: EnginePaths) {}

  /** A change made here shows in the next listing at once. */
  private changed(): void {
    this.listed = undefined;
  }

  private runDir = () => ({ dir: libvirtRunDir(this.paths), paths: this.paths });

  /** Whether a known host runs a bootc VM of that name (asks libvirt: the registry asks this runtime last). */
  async has(name: string): Promise<boolean> {
    return (await this.find(name)) !== undefined;
  }

  async settle(opts: ParsedRunOptions): Promise<ParsedRunOptions> {
    return settleForLibvirt(opts, (await resolveHost(this.paths, opts.connect!)).connection.local);
  }

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

  async get(name: string): Promise<VmInfo> {
    return (await this.locate(name)).vm;
  }

  private async locate(name: string): Promise<{ host: Host; vm: VmInfo }> {
    const found = await this.find(name);
    if (!found) throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    return found;
  }

  /** Every bootc VM on every known host; a host that cannot be reached is reported, not fatal. */
  list(): Promise<Listing> {
    if (this.listed && Date.now() - this.listed.at < LIST_TTL_MS) return this.listed.result;
    const result = this.listNow();
    this.listed = { at: Date.now(), result };
    return result;
  }

  private async listNow(): Promise<Listing> {
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

  async create(req: CreateRequest): Promise<VmRecord> {
    this.changed();
    const host = await resolveHost(this.paths, req.opts.connect!);
    if (req.kickstart !== undefined) refuseKickstartSecrets(req.kickstart);
    await defineAndStart(this.paths, host, req);
    await rememberHost(this.paths, host);
    return (await this.readVm(host, req.record.name))!;
  }

  /**
   * Waits until SSH answers (pinning the guest's host key), or until the domain runs for a
   * guest without sshd. A domain that stops, or whose serial log shows a kernel panic, ends
   * the wait at once with why.
   */
  async waitFor(name: string, target: "running" | "ssh-ready", onEvent: (e: VmEvent) => void): Promise<VmInfo> {
    const { host, vm } = await this.locate(name);
    const failed = (why: string) => new BootcError("BOOT_FAILED", `VM "${name}" did not boot: ${why}`, `see the serial log: bootc logs ${name}`);
    if (target === "running" || vm.sshPort === undefined) return vm;
    const target_ = await this.targetOf(host, vm, { pin: false });
    let now: VmInfo | undefined = vm;
    const outcome = await waitForSsh(target_, {
      timeoutMs: vm.readyTimeoutSec * 1000,
      intervalMs: 2000,
      check: async (): Promise<"probe"> => {
        now = await this.readVm(host, name);
        if (!now || now.effectiveState !== "running") throw failed(`the domain is ${now ? now.effectiveState : "gone"}`);
        const tail = await this.readLog(name, "serial", 4096);
        if (kernelPanicked(tail.text.split("\n").slice(-4))) throw failed(`the guest kernel panicked; last serial lines:\n${tail.text.split("\n").slice(-12).join("\n")}`);
        return "probe";
      },
    });
    if (outcome !== "ready") throw new BootcError("BOOT_TIMEOUT", `VM "${name}" did not answer SSH within ${vm.readyTimeoutSec} s`, `see the serial log: bootc logs ${name}`);
    onEvent({ type: "timeline", event: "ssh-ready", at: new Date().toISOString() });
    return { ...now!, effectiveState: "ssh-ready" };
  }

  /** Nothing watches a libvirt domain: a follower gets its current state once, and the stream stays open until closed. */
  async events(name: string, onEvent: (e: VmEvent) => void): Promise<{ close: () => void; closed: Promise<void> }> {
    onEvent({ type: "snapshot", record: await this.get(name) });
    let close = () => undefined as void;
    const closed = new Promise<void>((resolve) => (close = resolve));
    return { close, closed };
  }

  async stop(name: string, opts: StopOptions): Promise<VmInfo> {
    this.changed();
    const { host, vm } = await this.locate(name);
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

  async start(name: string): Promise<VmRecord> {
    this.changed();
    const { host, vm } = await this.locate(name);
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") throw new BootcError("VM_RUNNING", `VM "${name}" is already running (${vm.effectiveState})`);
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
    await virsh(c, ["undefine", name, ...(vm.disk?.builder === "install" ? ["--nvram"] : [])]);
    await deleteVolume(c, host.pool, overlayVolume(name));
    const files = await existingHostFiles(host, name);
    if (c.local) await rm(files.serialLog, { force: true });
    else await hostExec(c, this.runDir(), `rm -f ${files.serialLog}`);
    await rm(libvirtVmDir(this.paths, name), { recursive: true, force: true });
  }

  /** How SSH reaches the guest: its forwarded port on the libvirt host, through an SSH tunnel for a remote one. */
  async sshTarget(name: string, opts: { pin?: boolean } = {}): Promise<SshTarget> {
    const { host, vm } = await this.locate(name);
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
    const { host, vm } = await this.locate(name);
    const jump = host.connection.local ? [] : [...(await hostSshArgs(host.connection, this.runDir())), "-J", HOST_ALIAS];
    return sshArgv(await this.targetOf(host, vm), { remote, tty, jump });
  }

  /** The serial console: the domain's console socket, directly or through an SSH tunnel. */
  async console(name: string): Promise<ConsoleAttachment> {
    const { host, vm } = await this.locate(name);
    if (vm.effectiveState !== "running") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `start it: bootc start ${name}`);
    const c = host.connection;
    const files = await existingHostFiles(host, name);
    const tunnel = c.local ? undefined : await openTunnel(c, this.runDir(), { socket: files.serialSocket });
    const socket = net.connect(tunnel?.path ?? files.serialSocket);
    socket.once("close", () => tunnel?.close());
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", (e) => reject(new BootcError("VM_NOT_RUNNING", `the serial console of "${name}" cannot be reached: ${e.message}`))));
    return { socket, replayBytes: 0 };
  }

  /** The last `maxBytes` of the serial log, which libvirt keeps on its host (libvirt's runtime has no log of its own here). */
  async readLog(name: string, which: "serial" | "monitor", maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    const { host } = await this.locate(name);
    if (which !== "serial") return { text: "", truncated: false };
    const c = host.connection;
    const files = await existingHostFiles(host, name);
    if (!c.local) {
      const r = await hostExec(c, this.runDir(), `tail -c ${maxBytes + 1} ${files.serialLog} 2>/dev/null || true`);
      return { text: r.stdout.length > maxBytes ? r.stdout.slice(1) : r.stdout, truncated: r.stdout.length > maxBytes };
    }
    return readTail(files.serialLog, maxBytes);
  }

  /** Follows the serial log while the domain runs: the file itself on this host, `tail -f` through SSH on another. */
  async followLog(name: string, out: Writable, signal?: AbortSignal): Promise<void> {
    const { host } = await this.locate(name);
    const c = host.connection;
    const files = await existingHostFiles(host, name);
    const running = async () => (await this.readVm(host, name).catch(() => undefined))?.effectiveState === "running";
    if (c.local) {
      await followFile(files.serialLog, out, { signal, more: running });
      return;
    }
    let offset = 0;
    for (;;) {
      const r = await hostExec(c, this.runDir(), `tail -c +${offset + 1} ${files.serialLog} 2>/dev/null || true`);
      out.write(r.stdout);
      offset += Buffer.byteLength(r.stdout);
      if (signal?.aborted || !(await running())) return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** A restart; a rebuild's new image cannot be swapped into a libvirt VM's disk yet (said before anything stops). */
  async reboot(name: string, o: { image?: { ref: string; id: string }; timelinePrefix?: Array<{ event: string; at: string }> } = {}): Promise<VmRecord> {
    if (o.image) throw new BootcError("INVALID_ARGUMENT", `VM "${name}" runs under libvirt, where rebuild & reboot into a new image is not supported yet`, "use --watch with a VM of bootc's own runtime (no --connect)");
    const vm = await this.get(name);
    if (vm.effectiveState !== "stopped" && vm.effectiveState !== "failed") await this.stop(name, { timeoutSec: 60 });
    return this.start(name);
  }
}
