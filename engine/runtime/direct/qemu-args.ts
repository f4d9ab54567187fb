/**
 * The qemu command line for a VM, built by one pure function so every variant
 * (x86_64/KVM/TCG on Linux, aarch64/HVF on macOS, a foreign guest emulated under TCG, direct
 * kernel boot from a virtiofs root) is unit-tested without starting anything.
 */
import { TCG_TB_CACHE_MIB, type Accel, type TcgThreads } from "../../host/accel.js";
import type { HostArch } from "../../host/tools.js";
import type { Q35Device } from "../../host/q35.js";
import { BootcError } from "../../core/errors.js";
import { isForeign, type GuestArch } from "../../host/arch.js";
import { qemuOptionValue as q } from "../../core/schema.js";
import { consoleKernelArgs, type PortForward } from "../../host/machine.js";
import type { QemuNetwork } from "./network.js";

export interface FsShare {
  /** vhost-user socket of the virtiofsd serving this share */
  socket: string;
  /** virtiofs tag the guest mounts */
  tag: string;
  /** The PCIe root port it sits in (one of hotplugPortIds): a device there can be unplugged again. */
  bus?: string;
}

/**
 * A disk image attached as a virtio disk. A qcow2 overlay names its base here, not in its
 * header: qemu opens exactly these files (see diskArgs).
 */
export interface QemuDisk {
  file: string;
  format: "qcow2" | "raw";
  /** The overlay's base disk (a cache entry, or the user's premade file), opened with no backing of its own. */
  backing?: { file: string; format: "qcow2" | "raw" };
}

export interface QemuSpec {
  /** The host's architecture. */
  arch: HostArch;
  /** The guest's (the image's), when it is not the host's: emulated, TCG only (engine/host/arch.ts). */
  guestArch?: GuestArch;
  platform: NodeJS.Platform;
  accel: Accel;
  /** Under TCG: one host thread for all vCPUs (the default) or one each (decideTcgThreads). */
  tcgThreads?: TcgThreads;
  name: string;
  cpus: number;
  memoryMiB: number;
  /** Direct kernel boot (ephemeral, direct-built disks); absent: the firmware boots the disk. */
  kernel?: string;
  initrd?: string;
  /** Kernel command line, without the console argument (added per arch). */
  cmdline: string[];
  /**
   * Direct kernel boot: the fd (of qemu's, a socket pair's end) of the virtio console the
   * kernel's and systemd's messages go to, the login staying on the serial port
   * (consoleKernelArgs). Absent: the serial port is the console.
   */
  messagesFd?: number;
  /** UEFI firmware (code read-only, a per-VM copy of the variable store). */
  firmware?: { code: string; vars: string };
  /** Disk images attached as virtio disks, in order (/dev/vda first). */
  disks: QemuDisk[];
  /** The root filesystem share (tag "rootfs", ephemeral mode) and host directory shares. */
  shares: FsShare[];
  sshPort?: number;
  forwards: PortForward[];
  /** qemu's user network (forwarding the ports itself), or passt on a socket (which forwards them): network.ts. */
  network: QemuNetwork;
  qmpSocket: string;
  /** First-boot configuration (engine/provision): systemd credentials, a cloud-init seed. */
  provisionArgs: string[];
  /**
   * PCIe root ports to add (hotplugPortIds): the root bus does not hot-plug, so a device
   * plugged in later (the next image's root, soft-reboot.ts) or unplugged (the one it
   * replaces) needs a port of its own.
   */
  hotplugPorts?: number;
  /** Start with the CPUs stopped (-S): the monitor loads a snapshot first, then lets the guest run. */
  paused?: boolean;
  /** x86_64: q35's unused devices to boot without (`sata=off` …; host/q35.ts). */
  q35DevicesOff?: readonly Q35Device[];
}

/** The ids of `n` PCIe root ports, in the order buildQemuArgs adds them. */
export const hotplugPortIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `hp${i}`);

/** The qdev id of the `i`th share's vhost-user-fs device (its chardev is fs<i>). */
export const shareDeviceId = (i: number) => `vfs${i}`;

const guestOf = (s: QemuSpec): GuestArch => s.guestArch ?? s.arch;

/** -accel for TCG: how many host threads (decideTcgThreads) and the translation cache's size (TCG_TB_CACHE_MIB). */
const tcgAccel = (s: QemuSpec) => `tcg,thread=${s.tcgThreads ?? "single"},tb-size=${TCG_TB_CACHE_MIB}`;

function machineArgs(s: QemuSpec): string[] {
  const guest = guestOf(s);
  if (isForeign(guest, s.arch) && s.accel !== "tcg") {
    throw new BootcError("INVALID_ARGUMENT", `an ${guest} guest on an ${s.arch} host runs under TCG only, not ${s.accel}`);
  }
  if (guest === "aarch64") {
    if (s.accel !== "tcg") return ["-machine", `virt,accel=${s.accel}`, "-cpu", "host"];
    // TCG needs a named CPU model there ("max"); on x86 it keeps qemu's default model,
    // because "-cpu max" under TCG panics Debian 13's kernel in sched_clock_cpu.
    // GICv3: GICv2 (virt's default) stops at 8 vCPUs. pauth-impdef: pointer authentication
    // with qemu's own cheap hash instead of emulating QARMA, much of an emulated arm64
    // kernel's time otherwise (qemu's docs/system/arm/cpu-features.rst).
    return ["-machine", "virt,gic-version=3", "-accel", tcgAccel(s), "-cpu", "max,pauth-impdef=on"];
  }
  // q35 has no floppy, PC speaker or other legacy devices to probe at boot, and the guest
  // gets none of its own unused ones either (host/q35.ts).
  const q35 = ["q35", ...(s.q35DevicesOff ?? []).map((d) => `${d}=off`)].join(",");
  if (s.accel === "tcg") {
    // How many host threads: decideTcgThreads (engine/host/accel.ts). Multi-threaded TCG
    // panics Debian 13's kernel in about one boot in 25 (QEMU's race with the kernel's
    // live patching, docs/engine.md); the monitor resets such a boot once (supervisor.ts).
    return ["-machine", q35, "-accel", tcgAccel(s)];
  }
  return ["-machine", `${q35},accel=${s.accel}`, "-cpu", "host"];
}

/**
 * Memory must be shared with virtiofsd (vhost-user): a memfd on Linux, POSIX shm on macOS
 * (qemu ≥ 9.1's memory-backend-shm), one NUMA node using it.
 */
function memoryArgs(s: QemuSpec): string[] {
  const backend =
    s.platform === "darwin" ? `memory-backend-shm,id=mem,size=${s.memoryMiB}M,share=on` : `memory-backend-memfd,id=mem,size=${s.memoryMiB}M,share=on`;
  return ["-m", `${s.memoryMiB}M`, "-object", backend, "-numa", "node,memdev=mem"];
}

/** Every port forwarded to the guest, SSH first. */
export const guestForwards = (s: { sshPort?: number; forwards: PortForward[] }): PortForward[] => [
  ...(s.sshPort ? [{ host: s.sshPort, guest: 22 }] : []),
  ...s.forwards,
];

function netArgs(s: QemuSpec): string[] {
  const device = ["-device", "virtio-net-pci,netdev=net0"];
  if (s.network.kind === "stream") return ["-netdev", `stream,id=net0,server=off,addr.type=fd,addr.str=${s.network.fd}`, ...device];
  // restrict=on: the guest reaches nothing but the forwarded ports (and DHCP); hostfwd still works.
  const restrict = s.network.restrict ? ",restrict=on" : "";
  const forwards = guestForwards(s).map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`);
  return ["-netdev", `user,id=net0${restrict}${forwards.join("")}`, ...device];
}

function shareArgs(s: QemuSpec): string[] {
  return s.shares.flatMap((share, i) => [
    "-chardev",
    `socket,id=fs${i},path=${q(share.socket)}`,
    "-device",
    `vhost-user-fs-pci,id=${shareDeviceId(i)},chardev=fs${i},tag=${q(share.tag)}${share.bus ? `,bus=${q(share.bus)}` : ""}`,
  ]);
}

/** Root ports on the root complex; chassis numbers must differ (qemu refuses a second port with the same chassis and slot). */
function hotplugPortArgs(s: QemuSpec): string[] {
  return hotplugPortIds(s.hotplugPorts ?? 0).flatMap((id, i) => ["-device", `pcie-root-port,id=${id},chassis=${i + 1}`]);
}

/**
 * A disk as explicit -blockdev nodes. A qcow2 header can name a backing file (and an
 * external data file, which boot.ts refuses at every start): qemu, as root, would open any
 * host file it names — /etc/shadow — as part of the guest's disk, and the user's file can
 * be rewritten between boots (`qemu-img rebase -u`). So the overlay's backing is a node
 * given here, and every qcow2 node gets `"backing": null`: qemu follows nothing a header
 * says. JSON, not an option string: a path cannot add options.
 */
function diskArgs(d: QemuDisk, i: number): string[] {
  const id = `disk${i}`;
  const noBacking = (format: string) => (format === "qcow2" ? { backing: null } : {});
  const nodes: object[] = [];
  if (d.backing) {
    const b = d.backing;
    nodes.push({
      "node-name": `${id}-base`,
      driver: b.format,
      "read-only": true,
      ...noBacking(b.format),
      file: { driver: "file", filename: b.file, "read-only": true },
    });
  }
  nodes.push({
    "node-name": id,
    driver: d.format,
    discard: "unmap",
    ...noBacking(d.format),
    ...(d.backing ? { backing: `${id}-base` } : {}),
    file: { driver: "file", filename: d.file, discard: "unmap" },
  });
  return [...nodes.flatMap((n) => ["-blockdev", JSON.stringify(n)]), "-device", `virtio-blk-pci,drive=${id}`];
}

function bootArgs(s: QemuSpec): string[] {
  const firmware = s.firmware
    ? ["-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${q(s.firmware.code)}`, "-drive", `if=pflash,format=raw,unit=1,file=${q(s.firmware.vars)}`]
    : [];
  const kernel = s.kernel
    ? [
        "-kernel",
        s.kernel,
        ...(s.initrd ? ["-initrd", s.initrd] : []),
        "-append",
        [...consoleKernelArgs(s.accel, guestOf(s), s.messagesFd !== undefined), ...s.cmdline].join(" "),
      ]
    : [];
  return [...firmware, ...kernel, ...s.disks.flatMap(diskArgs)];
}

/** The boot messages' virtio console: qemu writes it to its end of a socket pair, the monitor reads the other. */
function messagesArgs(s: QemuSpec): string[] {
  if (s.messagesFd === undefined || !s.kernel) return [];
  return ["-device", "virtio-serial-pci", "-chardev", `socket,id=messages,fd=${s.messagesFd},server=off`, "-device", "virtconsole,chardev=messages"];
}

export function buildQemuArgs(s: QemuSpec): string[] {
  return [
    "-name",
    `${q(s.name)},process=bootc-${q(s.name)}`,
    ...machineArgs(s),
    "-smp",
    String(s.cpus),
    ...memoryArgs(s),
    "-nodefaults",
    "-display",
    "none",
    "-no-user-config",
    ...bootArgs(s),
    ...hotplugPortArgs(s),
    ...shareArgs(s),
    ...netArgs(s),
    // The serial console is qemu's stdio: the monitor owns both ends and fans it out.
    "-chardev",
    "stdio,id=serial0,signal=off",
    "-serial",
    "chardev:serial0",
    "-qmp",
    `unix:${q(s.qmpSocket)},server=on,wait=off`,
    "-device",
    "virtio-rng-pci",
    ...messagesArgs(s),
    ...s.provisionArgs,
    ...(s.paused ? ["-S"] : []),
  ];
}

/** Kernel arguments for an ephemeral boot: virtiofs root with a volatile overlay on top. */
export function ephemeralKernelArgs(extra: string[]): string[] {
  return ["root=virtiofs:rootfs", "rw", "systemd.volatile=overlay", ...extra];
}
