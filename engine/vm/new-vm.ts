/**
 * Everything a new VM needs checked and decided before any runtime makes anything: the
 * options parsed and settled by the runtime, the name, resources, accelerator, host tools,
 * keys, first-boot inputs, the image (pulled if asked) and the boot target. Bad input fails
 * here with nothing made.
 */
import path from "node:path";
import { BootcError } from "../core/errors.js";
import { checkBindSources, checkPorts, generateName } from "../core/options.js";
import type { EnginePaths } from "../core/paths.js";
import { ACTIVE_STATES, type VmRecord } from "../core/record.js";
import { validateName, type ParsedRunOptions } from "../core/schema.js";
import type { VmInfo } from "../core/vm.js";
import { detectAccel, type AccelChoice } from "../host/accel.js";
import { guestAccel, guestArchFlag, platformOf, podmanArchName } from "../host/arch.js";
import { findQemu, findVirtiofsd, hostArch, requireTool } from "../host/tools.js";
import { ensureImage, type PullHooks } from "../images/pull.js";
import { isRemotePodman } from "../core/podman-connection.js";
import type { DiskProgress } from "../disk/progress.js";
import { checkCloudInitDir, defaultUserIdentity, readKickstart } from "../provision/inputs.js";
import { hashPassword } from "../provision/password.js";
import { publicKeyOf } from "../ssh/keys.js";
import type { VmRuntime } from "../runtime/runtime.js";
import { planTarget, type BootTarget } from "./target.js";

/** What is needed of a VM that has the new VM's name. */
type OldVm = Pick<VmInfo, "forwards" | "effectiveState" | "connection">;

export interface CheckedVm {
  name: string;
  opts: ParsedRunOptions;
  /** The VM of that name that --replace will remove, once everything is checked. */
  replaces: boolean;
  passwordHash?: string;
  kickstart?: string;
  record: VmRecord;
}

/**
 * Checks a new VM's parsed options. `runtime` is where it will run (it settles them),
 * `existing` finds a VM of a name in any runtime, `localNames` are avoided by a generated name.
 */
export async function checkNewVm(
  parsed: ParsedRunOptions,
  o: {
    runtime: VmRuntime;
    existing: (name: string) => Promise<OldVm | undefined>;
    localNames: string[];
    paths: EnginePaths;
    pull?: PullHooks;
    /** Progress of exporting the root of an image in another podman (ephemeral mode). */
    onExport?: (p: DiskProgress) => void;
  },
): Promise<CheckedVm> {
  const opts = await o.runtime.settle(parsed);
  if (opts.replace && opts.name === undefined) throw new BootcError("INVALID_ARGUMENT", "--replace needs the name of the VM to replace", "add --name NAME");
  const name = opts.name !== undefined ? validateName(opts.name) : generateName(new Set(o.localNames));
  const old = opts.name !== undefined ? await o.existing(name) : undefined;
  if (old && !opts.replace)
    throw new BootcError(
      "VM_EXISTS",
      `a VM named "${name}" already exists`,
      `pick another --name, replace it (--replace), or remove it first: bootc rm ${name}`,
    );
  const accel = await detectAccel(opts.accel);
  await checkBindSources(opts.binds);
  await checkPorts(opts.forwards, old ? portsHeldBy(old) : []);
  findQemu();
  if ((opts.mode === "ephemeral" && !opts.disk) || opts.binds.length) await findVirtiofsd(); // disk mode needs it for --bind only
  requireTool("ssh-keygen");
  const identity = opts.identity ?? (opts.injectUserKey ? await defaultUserIdentity() : undefined);
  if (identity) await publicKeyOf(identity);
  const kickstart = opts.kickstart ? await readKickstart(opts.kickstart) : undefined;
  if (opts.cloudInit) await checkCloudInitDir(opts.cloudInit.dir);
  if (opts.cloudInit?.transport === "cdrom") requireTool("xorriso");
  if (opts.cloudInit?.transport === "imds" && !opts.allowHostLoopback) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      "--cloudinit imds serves the seed on the host's loopback, which a guest cannot reach unless --allow-host-loopback is given",
      "use --cloudinit cdrom:DIR, or add --allow-host-loopback (the guest can then reach every service on the host's 127.0.0.1)",
    );
  }
  if (opts.credentialTransport === "cmdline" && (opts.disk || (opts.mode === "disk" && opts.builder === "install"))) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      "credentials cannot go on the kernel command line of a disk that boots through UEFI",
      "use --mode ephemeral or --builder direct, or another credential transport",
    );
  }
  if (opts.credentialTransport === "esp" && !(opts.disk || (opts.mode === "disk" && opts.builder === "install"))) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      "credentials on the EFI system partition reach only a disk that boots through UEFI firmware",
      "use --disk FILE or --builder install, or another credential transport",
    );
  }
  if (opts.credentialTransport === "esp") requireTool("mcopy");
  const passwordHash = opts.password !== undefined ? hashPassword(opts.password) : undefined;
  // Everything the user typed is checked before a pull that may take minutes.
  // An image in another podman stays there: pulled there if it must be, then planTarget finds it there.
  if (opts.image && !opts.disk)
    await ensureImage(
      opts.image,
      opts.pull,
      opts.arch ? { ...o.pull, platform: platformOf(guestArchFlag(opts.arch)) } : o.pull,
      o.paths,
      isRemotePodman(opts.podman) ? opts.podman : undefined,
    );
  const target = await planTarget(opts, { paths: o.paths, onExport: o.onExport });
  // Another architecture: its own qemu, and TCG whatever the host offers.
  if (target.arch && opts.connect) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `libvirt (--connect) cannot run an ${podmanArchName(target.arch)} guest yet: only bootc's own runtime boots another architecture`,
      "leave out --connect: bootc's own runtime boots it, emulated",
    );
  }
  if (target.arch) findQemu(process.env, target.arch);
  const host = hostArch();
  const guest = guestAccel({ guest: target.arch ?? host, host, chosen: accel.accel, explicit: opts.accel !== undefined || !!process.env.BOOTC_ACCEL });
  const record = newRecord({
    name,
    target,
    cpus: opts.cpus,
    memoryMiB: opts.memoryMiB,
    accel: guest.note ? { ...accel, accel: guest.accel, reason: guest.note } : accel,
    identity: identity && path.resolve(identity),
    passwordSet: !!passwordHash,
    opts,
  });
  return { name, opts, replaces: !!old, passwordHash, kickstart, record };
}

/**
 * The host ports on this machine that a VM holds now: its forwards while it runs here
 * (bootc's own runtime, or libvirt on this machine), none for a VM on another host.
 */
function portsHeldBy(vm: OldVm): number[] {
  const here = !vm.connection || vm.connection.startsWith("qemu:///");
  return here && ACTIVE_STATES.includes(vm.effectiveState) ? vm.forwards.map((f) => f.host) : [];
}

/** The record of a new VM, before anything runs it; a runtime fills in its key's path (generatedKey) and SSH port. */
function newRecord(o: {
  name: string;
  target: BootTarget;
  cpus: number;
  memoryMiB: number;
  accel: AccelChoice;
  identity?: string;
  passwordSet: boolean;
  opts: ParsedRunOptions;
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
    ...(target.arch ? { arch: target.arch } : {}),
    sshUser: opts.user,
    identity: o.identity ?? "",
    generatedKey: !o.identity,
    ...(o.passwordSet ? { passwordSet: true } : {}),
    ...(opts.autologin ? { autologin: true } : {}),
    ...(opts.kickstart ? { kickstart: path.resolve(opts.kickstart) } : {}),
    ...(opts.cloudInit ? { cloudInit: { transport: opts.cloudInit.transport, dir: path.resolve(opts.cloudInit.dir) } } : {}),
    ...(opts.credentialTransport ? { credentialTransport: opts.credentialTransport } : {}),
    ...(opts.autostart ? { autostart: true } : {}),
    forwards: opts.forwards,
    ...(opts.allowHostLoopback ? { allowHostLoopback: true } : {}),
    binds: opts.binds,
    kargs: opts.kargs,
    removeOnStop: opts.removeOnStop || opts.removeImageOnStop,
    ...(opts.removeImageOnStop ? { removeImageOnStop: true } : {}),
    ...(target.source ? { source: target.source } : {}),
    ...(target.podman ? { podman: target.podman } : {}),
    readyTimeoutSec: opts.readyTimeoutSec,
    state: "creating",
    warnings: [],
    timeline: [{ event: "created", at: new Date().toISOString() }],
  };
}
