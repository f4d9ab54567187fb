/**
 * Making a libvirt VM: the base disk (made here once per image, uploaded once per host),
 * the VM's overlay volume, its credentials as SMBIOS OEM strings, and the domain, defined
 * and started. Whatever fails on the way leaves nothing but the cached base.
 */
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../../core/errors.js";
import { freePort } from "../../core/options.js";
import { libvirtVmDir, type EnginePaths } from "../../core/paths.js";
import { writePrivateFile } from "../../core/private-file.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import { newBoot, type VmRecord } from "../../core/record.js";
import type { ParsedRunOptions } from "../../core/schema.js";
import type { VmEvent } from "../../core/vm.js";
import { ensureBaseDisk } from "../../disk/boot.js";
import { diskFile, entryDir } from "../../disk/cache.js";
import { directDiskKernelArgs } from "../../disk/direct.js";
import { consoleDevice } from "../../host/machine.js";
import { findVirtiofsd, hostArch } from "../../host/tools.js";
import { guestCredentials, shareTags } from "../../provision/credentials.js";
import { translateKickstart } from "../../provision/kickstart.js";
import { smbiosCredential } from "../../provision/transport.js";
import { generateKey, publicKeyOf } from "../../ssh/keys.js";
import type { CreateRequest } from "../runtime.js";
import { domainXml } from "./domain.js";
import type { Host } from "./hosts.js";
import { virsh, virshMaybe } from "./virsh.js";
import { baseVolumes, deleteVolume, ensureBase, ensureOverlay, ensurePool, overlayVolume } from "./volumes.js";
import { hostFiles } from "./host-files.js";

/**
 * A libvirt VM's credentials are in its domain definition, which libvirt's read-only socket
 * shows to every local user of the libvirt host (virsh -r dumpxml): a kickstart that sets
 * passwords is refused (the engine refuses --password likewise).
 */
export function refuseKickstartSecrets(kickstart: string): void {
  if (!translateKickstart(kickstart, "the kickstart").files.some((f) => f.secret)) return;
  throw new BootcError("INVALID_ARGUMENT", "the kickstart sets passwords, which a libvirt VM's definition would show to every user who can read it (virsh -r dumpxml)", "drop rootpw and user --password from the kickstart (use sshkey), or run the VM without --connect");
}

/**
 * The options a libvirt VM can take, settled before anything is made. Shares serve this
 * machine's folders, which another host cannot reach; a definition shows its credentials to
 * every local user of the libvirt host, so no secrets go into it.
 */
export function settleForLibvirt(opts: ParsedRunOptions, local: boolean): ParsedRunOptions {
  const no = (what: string, hint: string) => new BootcError("INVALID_ARGUMENT", `${what} cannot be used with --connect (a libvirt VM)`, hint);
  if (opts.mode !== "disk" || opts.disk) throw no(opts.disk ? "a premade --disk" : "ephemeral mode", "libvirt runs disk-mode VMs of an image: add --mode disk");
  if (opts.binds.length && !local) {
    throw new BootcError("INVALID_ARGUMENT", "--bind cannot be used with a libvirt VM on another host: that host cannot reach this machine's folders", "copy the files into the image, or run the VM on qemu:///system");
  }
  if (opts.cloudInit) throw no("--cloudinit", "use --ks or -u/--password for first-boot settings, or run the VM without --connect");
  if (opts.credentialTransport && opts.credentialTransport !== "smbios") throw no(`--credentials-via ${opts.credentialTransport}`, "libvirt VMs get their credentials over SMBIOS");
  // The domain definition carries the credentials, and libvirt's read-only socket lets
  // every local user of the libvirt host read it (virsh -r dumpxml): no secrets there.
  if (opts.password !== undefined) throw no("--password", "a password hash would be readable by every user who can read the domain (virsh -r dumpxml); log in with the VM's SSH key, or use --autologin");
  // "auto" is the direct builder: its disks boot the image's own kernel, with no firmware
  // to choose on the libvirt host (--builder install asks for UEFI).
  return opts.builder === "auto" ? { ...opts, builder: "direct" } : opts;
}

const RANDOM_PORT = () => 20_000 + Math.floor(Math.random() * 40_000);

export async function defineAndStart(paths: EnginePaths, host: Host, o: CreateRequest): Promise<void> {
  const c = host.connection;
  const dir = libvirtVmDir(paths, o.record.name);
  // A key made for the VM lives in its local directory; otherwise identity is the user's own.
  const record = { ...o.record, identity: o.record.generatedKey ? path.join(dir, "id_ed25519") : o.record.identity };
  const disk = record.disk;
  if (!disk || disk.builder === "premade") throw new BootcError("INVALID_ARGUMENT", "libvirt VMs boot images (--mode disk); a premade --disk runs with the direct runtime only", "leave out --connect, or boot the image");
  const firstBoot = o.kickstart !== undefined ? translateKickstart(o.kickstart, "the kickstart") : undefined;
  const existing = await virshMaybe(c, ["dominfo", record.name]);
  if (existing !== undefined) throw new BootcError("VM_EXISTS", `a libvirt domain named "${record.name}" already exists on ${host.name}`, `pick another --name, or remove it first: bootc rm ${record.name}`);
  await ensurePrivateDir(dir, paths);
  const timeline = (event: string) => o.onEvent({ type: "timeline", event, at: new Date().toISOString() } as VmEvent);
  const progress = (step: string) => o.onEvent({ type: "progress", step } as VmEvent);
  let defined = false;
  try {
    await writePrivateFile(path.join(dir, "connection"), c.uri + "\n");
    if (record.generatedKey) await generateKey(record.identity, `bootc-console ${record.name}`);
    const poolDir = await ensurePool(c, host.pool);
    const { entry, reused } = await ensureBaseDisk(paths, { image: record.image, imageId: record.imageId, builder: disk.builder, sizeBytes: disk.sizeBytes, filesystem: disk.filesystem }, (p) => progress(p.step));
    timeline(reused ? "disk-reused" : "disk-built");
    const edir = entryDir(paths, entry.key);
    const sizeOf = async (f: string) => (await stat(f)).size;
    const direct = entry.builder === "direct";
    const kernelFile = path.join(edir, entry.kernel ?? "vmlinuz");
    const initrdFile = path.join(edir, entry.initrd ?? "initramfs.img");
    const uploaded = await ensureBase(paths, c, host.pool, {
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
    if (cpus !== record.cpus) o.onEvent({ type: "warning", message: `emulated (TCG) libvirt VMs get 1 vCPU, not ${record.cpus}: libvirt cannot ask qemu for the single-threaded TCG that ${record.cpus} vCPUs need to boot reliably` } as VmEvent);
    const shares = shareTags(record.binds);
    const virtiofsd = shares.length ? (await findVirtiofsd()).path : undefined;
    let creds;
    try {
      creds = guestCredentials({
        user: record.sshUser,
        publicKey: await publicKeyOf(record.identity),
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
    const oemStrings = creds.credentials.map(smbiosCredential);
    for (const w of creds.warnings) o.onEvent({ type: "warning", message: w } as VmEvent);

    // The SSH port is on the libvirt host's loopback; on another host bootc cannot see which
    // ports are free, so a taken one is noticed at start and another is tried.
    for (let attempt = 1; ; attempt++) {
      const sshPort = c.local ? await freePort() : RANDOM_PORT();
      const meta: VmRecord = { ...record, cpus, connection: c.uri, hostName: host.name, disk: { ...disk, base: entry.key }, ...(entry.sshd ? { sshPort } : {}), guestSystemd: entry.guestSystemd, credentialsVia: "smbios", state: "running" };
      const xml = domainXml({
        name: record.name, arch, accel: record.accel, cpus, memoryMiB: record.memoryMiB,
        pool: host.pool, overlayVolume: overlayVolume(record.name), kernel, ...files,
        sshPort, forwards: record.forwards, oemStrings, metadata: domainMetadata(meta),
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
  } catch (e) {
    // Nothing half-made stays: the domain, its overlay and the local key go; the base stays cached.
    if (defined) await virsh(c, ["undefine", record.name]).catch(() => undefined);
    await deleteVolume(c, host.pool, overlayVolume(record.name)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The record as stored in the domain: what describes the VM, and the facts of its disk's image. */
function domainMetadata(r: VmRecord): VmRecord {
  return { ...newBoot(r), state: r.state, timeline: [], guestSystemd: r.guestSystemd, credentialsVia: r.credentialsVia };
}
