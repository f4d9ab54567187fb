/**
 * Making a libvirt VM: the base disk (made here once per image, uploaded once per host),
 * the VM's overlay volume, its credentials as SMBIOS OEM strings, and the domain, defined
 * and started. Whatever fails on the way leaves nothing but the cached base.
 */
import { createHash } from "node:crypto";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../../core/errors.js";
import { freePort } from "../../core/options.js";
import { libvirtVmPaths, type EnginePaths } from "../../core/paths.js";
import { writePrivateFile } from "../../core/private-file.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import { newBoot, type VmRecord } from "../../core/record.js";
import type { ParsedRunOptions } from "../../core/schema.js";
import type { VmEvent } from "../../core/vm.js";
import { ensureBaseDisk } from "../../disk/boot.js";
import { diskFile, entryDir } from "../../disk/cache.js";
import { directDiskKernelArgs } from "../../disk/direct.js";
import { inspectDisk } from "../../disk/overlay.js";
import { consoleDevice } from "../../host/machine.js";
import { findVirtiofsd, hostArch } from "../../host/tools.js";
import { guestCredentials, shareTags } from "../../provision/credentials.js";
import { makeSeedIso } from "../../provision/cloudinit.js";
import { copyCloudInitDir } from "../../provision/inputs.js";
import { translateKickstart } from "../../provision/kickstart.js";
import { smbiosCredential } from "../../provision/transport.js";
import { generateKey, publicKeyOf } from "../../ssh/keys.js";
import type { CreateRequest } from "../runtime.js";
import { domainXml } from "./domain.js";
import type { Host } from "./hosts.js";
import { virsh } from "./virsh.js";
import { baseVolumes, deleteVolume, ensureBase, ensureOverlay, ensurePool, overlayVolume, seedVolume, uploadVolume } from "./volumes.js";
import { hostFiles } from "./host-files.js";

/**
 * A libvirt VM's credentials are in its domain definition, which libvirt's read-only socket
 * shows to every local user of the libvirt host (virsh -r dumpxml): a kickstart that sets
 * passwords is refused (the engine refuses --password likewise).
 */
export function refuseKickstartSecrets(kickstart: string): void {
  if (!translateKickstart(kickstart, "the kickstart").files.some((f) => f.secret)) return;
  throw new BootcError(
    "INVALID_ARGUMENT",
    "the kickstart sets passwords, which a libvirt VM's definition would show to every user who can read it (virsh -r dumpxml)",
    "drop rootpw and user --password from the kickstart (use sshkey), or run the VM without --connect",
  );
}

/**
 * The options a libvirt VM can take, settled before anything is made. Shares serve this
 * machine's folders, which another host cannot reach; a definition shows its credentials to
 * every local user of the libvirt host, so no secrets go into it.
 */
export function settleForLibvirt(opts: ParsedRunOptions, local: boolean): ParsedRunOptions {
  const no = (what: string, hint: string) => new BootcError("INVALID_ARGUMENT", `${what} cannot be used with --connect (a libvirt VM)`, hint);
  if (opts.mode !== "disk" && !opts.disk) throw no("ephemeral mode", "libvirt runs disk-mode VMs: add --mode disk");
  if (opts.binds.length && !local) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      "--bind cannot be used with a libvirt VM on another host: that host cannot reach this machine's folders",
      "copy the files into the image, or run the VM on qemu:///system",
    );
  }
  if (opts.cloudInit?.transport === "imds")
    throw no("--cloudinit imds:", "a libvirt VM's guest cannot reach this machine's seed server; hand it a seed ISO instead: --cloudinit DIR");
  if (opts.credentialTransport && opts.credentialTransport !== "smbios")
    throw no(`--credentials-via ${opts.credentialTransport}`, "libvirt VMs get their credentials over SMBIOS");
  // The domain definition carries the credentials, and libvirt's read-only socket lets
  // every local user of the libvirt host read it (virsh -r dumpxml): no secrets there.
  if (opts.password !== undefined)
    throw no(
      "--password",
      "a password hash would be readable by every user who can read the domain (virsh -r dumpxml); log in with the VM's SSH key, or use --autologin",
    );
  // "auto" is the direct builder: its disks boot the image's own kernel, with no firmware
  // to choose on the libvirt host (--builder install asks for UEFI).
  return opts.builder === "auto" ? { ...opts, builder: "direct" } : opts;
}

const RANDOM_PORT = () => 20_000 + Math.floor(Math.random() * 40_000);

/** Defines the VM's domain and starts it; `o.record.identity` is set here for a generated key (kept if it exists: a rebuild's redefinition). */
export async function defineAndStart(paths: EnginePaths, host: Host, o: Omit<CreateRequest, "opts"> & { onEvent: (e: VmEvent) => void }): Promise<void> {
  const c = host.connection;
  const local = libvirtVmPaths(paths, o.record.name);
  const dir = local.dir;
  // A key made for the VM lives in its local directory; otherwise identity is the user's own.
  const record = { ...o.record, identity: o.record.generatedKey ? local.key : o.record.identity };
  const disk = record.disk;
  if (!disk) throw new BootcError("INVALID_ARGUMENT", "libvirt runs disk-mode VMs", "add --mode disk");
  const firstBoot = o.kickstart !== undefined ? translateKickstart(o.kickstart, "the kickstart") : undefined;
  await ensurePrivateDir(dir, paths);
  const timeline = (event: string) => o.onEvent({ type: "timeline", event, at: new Date().toISOString() } as VmEvent);
  let defined = false;
  try {
    await writePrivateFile(local.connection, c.uri + "\n");
    if (record.generatedKey && !(await stat(record.identity).catch(() => undefined))) await generateKey(record.identity, `bootc-console ${record.name}`);
    const poolDir = await ensurePool(c, host.pool);
    const base = await ensureBaseVolume(paths, host, record, o.onEvent);
    await ensureOverlay(c, host.pool, record.name, base.key, disk.sizeBytes, base.format);
    const seed = record.cloudInit ? await uploadSeed(paths, host, record.name, o.cloudInitDir ?? record.cloudInit.dir) : undefined;

    // The guest's (a record carries arch only for another than the host's; new-vm.ts refuses
    // --connect for one until its kernel goes through loadableKernel here too).
    const arch = record.arch ?? hostArch();
    // libvirt starts qemu with multi-threaded TCG (one host thread per vCPU) and has no way
    // to ask for single-threaded TCG, under which Debian 13's kernel panicked in 2 of ~30
    // boots (docs/engine.md, "The qemu command line"). One vCPU has one thread: safe.
    const cpus = record.accel === "tcg" ? 1 : record.cpus;
    if (cpus !== record.cpus)
      o.onEvent({
        type: "warning",
        message: `emulated (TCG) libvirt VMs get 1 vCPU, not ${record.cpus}: libvirt cannot ask qemu for the single-threaded TCG that ${record.cpus} vCPUs need to boot reliably`,
      } as VmEvent);
    const shares = shareTags(record.binds);
    const virtiofsd = shares.length ? (await findVirtiofsd()).path : undefined;
    let creds;
    try {
      creds = guestCredentials({
        user: record.sshUser,
        publicKey: await publicKeyOf(record.identity),
        shares,
        systemd: base.guestSystemd,
        imageUsers: base.users,
        autologinTty: record.autologin ? consoleDevice(arch) : undefined,
        firstBoot,
      });
    } catch (e) {
      throw new BootcError("INVALID_ARGUMENT", (e as Error).message, "boot without that option, or use an image with a newer systemd");
    }
    const files = hostFiles(c, record.name, poolDir);
    const volumePath = async (vol: string) => (await virsh(c, ["vol-path", "--pool", host.pool, vol])).trim();
    const kernel = base.direct
      ? {
          kernel: await volumePath(baseVolumes(base.key).kernel),
          initrd: await volumePath(baseVolumes(base.key).initrd),
          cmdline: directDiskKernelArgs(record.kargs),
        }
      : undefined;
    const oemStrings = creds.credentials.map(smbiosCredential);
    for (const w of creds.warnings) o.onEvent({ type: "warning", message: w } as VmEvent);

    // The SSH port is on the libvirt host's loopback; on another host bootc cannot see which
    // ports are free, so a taken one is noticed at start and another is tried.
    for (let attempt = 1; ; attempt++) {
      const sshPort = c.local ? await freePort(record.forwards.map((f) => f.host)) : RANDOM_PORT();
      const meta: VmRecord = {
        ...record,
        cpus,
        connection: c.uri,
        hostName: host.name,
        disk: { ...disk, base: base.key },
        ...(base.sshd ? { sshPort } : {}),
        guestSystemd: base.guestSystemd,
        credentialsVia: "smbios",
        state: "running",
      };
      const xml = domainXml({
        name: record.name,
        arch,
        accel: record.accel,
        cpus,
        memoryMiB: record.memoryMiB,
        pool: host.pool,
        overlayVolume: overlayVolume(record.name),
        seedVolume: seed,
        kernel,
        ...files,
        sshPort,
        forwards: record.forwards,
        allowHostLoopback: !!record.allowHostLoopback,
        oemStrings,
        metadata: domainMetadata(meta),
        shares: record.binds.map((b, i) => ({ dir: b.host, tag: shares[i]!.tag, readOnly: b.readOnly })),
        virtiofsd,
      });
      const xmlFile = local.domainXml;
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
    await deleteVolume(c, host.pool, seedVolume(record.name)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

interface BaseVolume {
  key: string;
  format: "raw" | "qcow2";
  /** A direct-built disk: the kernel and initramfs volumes boot it; otherwise UEFI does. */
  direct: boolean;
  sshd: boolean;
  guestSystemd?: number;
  users?: string[];
}

/**
 * The base volume the VM's overlay sits on, uploaded once per host: the image's base disk
 * (built here once per image, see engine/disk), or the user's premade disk — checked again
 * now (no backing or data file: a disk from the internet could name a host file), and
 * keyed by its path, size and modification time, so a changed file is uploaded anew.
 */
async function ensureBaseVolume(paths: EnginePaths, host: Host, record: VmRecord, onEvent: (e: VmEvent) => void): Promise<BaseVolume> {
  const disk = record.disk!;
  const timeline = (event: string) => onEvent({ type: "timeline", event, at: new Date().toISOString() });
  const progress = (step: string) => onEvent({ type: "progress", step });
  if (disk.builder === "premade") {
    const file = disk.premade!;
    const { format } = await inspectDisk(file);
    const st = await stat(file);
    const key = `premade-${createHash("sha256").update(`${file}\0${st.size}\0${st.mtimeMs}`).digest("hex").slice(0, 16)}`;
    const uploaded = await ensureBase(paths, host.connection, host.pool, { key, disk: file, format, sizeBytes: st.size }, progress);
    timeline(uploaded.reused ? "base-volume-reused" : "base-volume-uploaded");
    return { key, format, direct: false, sshd: true };
  }
  const { entry, reused } = await ensureBaseDisk(
    paths,
    { image: record.image, imageId: record.imageId, builder: disk.builder, sizeBytes: disk.sizeBytes, filesystem: disk.filesystem },
    (p) => progress(p.step),
  );
  timeline(reused ? "disk-reused" : "disk-built");
  const edir = entryDir(paths, entry.key);
  const sizeOf = async (f: string) => (await stat(f)).size;
  const direct = entry.builder === "direct";
  const kernelFile = path.join(edir, entry.kernel ?? "vmlinuz");
  const initrdFile = path.join(edir, entry.initrd ?? "initramfs.img");
  const uploaded = await ensureBase(
    paths,
    host.connection,
    host.pool,
    {
      key: entry.key,
      disk: diskFile(edir),
      format: "raw",
      sizeBytes: entry.sizeBytes,
      ...(direct
        ? { kernel: { file: kernelFile, sizeBytes: await sizeOf(kernelFile) }, initrd: { file: initrdFile, sizeBytes: await sizeOf(initrdFile) } }
        : {}),
    },
    progress,
  );
  timeline(uploaded.reused ? "base-volume-reused" : "base-volume-uploaded");
  return { key: entry.key, format: "raw", direct, sshd: entry.sshd, guestSystemd: entry.guestSystemd, users: entry.users };
}

/**
 * --cloudinit under libvirt: the NoCloud seed ISO made here from a private copy of the
 * directory and uploaded as a volume of its own (the libvirt host may be another machine).
 */
async function uploadSeed(paths: EnginePaths, host: Host, name: string, cloudInitDir: string): Promise<string> {
  const { cloudInit: copy, seedIso: iso } = libvirtVmPaths(paths, name);
  await copyCloudInitDir(cloudInitDir, copy);
  await makeSeedIso(copy, iso);
  const vol = seedVolume(name);
  await uploadVolume(host.connection, host.pool, vol, iso, (await stat(iso)).size, "raw", false);
  await rm(iso, { force: true });
  return vol;
}

/** The record as stored in the domain: what describes the VM, and the facts of its disk's image. */
function domainMetadata(r: VmRecord): VmRecord {
  return { ...newBoot(r), state: r.state, timeline: [], guestSystemd: r.guestSystemd, credentialsVia: r.credentialsVia };
}
