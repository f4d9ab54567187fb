/**
 * The libvirt domain XML of a disk-mode VM, built by one pure function from typed options
 * (like buildQemuArgs for the direct runtime), and the VM record read back out of it.
 *
 * Choices that differ from a typical libvirt guest, and why:
 * - Networking is qemu's user-mode stack with host port forwards on the libvirt host's
 *   127.0.0.1 (qemu:commandline). libvirt 9's own `<interface type='user'>` forwards ports
 *   only with passt, which many hosts lack; slirp is in every qemu build the direct runtime
 *   already relies on, and it needs no bridge, no root on the guest network, no firewall.
 *   slirp maps 10.0.2.2 to the host's 127.0.0.1, and QEMU 7.2 cannot turn that off; the
 *   direct runtime's answer, its own passt beside qemu, has no place in a libvirt domain
 *   (libvirt 9's passt backend maps the gateway to the host all the same). So unless
 *   --allow-host-loopback, the network is restrict=on: DHCP and the forwarded ports only,
 *   no outbound connections, no host loopback.
 * - The serial console is a unix socket on the libvirt host with a libvirt-managed log:
 *   bootc reaches it over the same SSH connection as everything else (libvirt's own
 *   console streams need a terminal on the client, which scripts and the web console lack).
 * - The VM's record travels in `<metadata>` as JSON, so `bootc list` rebuilds its view of
 *   a host from libvirt alone.
 * - An arm64 guest without KVM (emulated on an x86_64 host, or on an arm64 host without
 *   KVM) asks for qemu's `max` CPU: virt's default CPU, a Cortex-A15, is 32-bit and cannot
 *   run an arm64 kernel. It gets GICv3 (GICv2, virt's default, stops at 8 vCPUs) and, booting
 *   its kernel directly, no ACPI (libvirt allows ACPI on arm64 only with UEFI; the kernel
 *   finds the devices in the device tree qemu makes). libvirt picks qemu-system-aarch64
 *   from the domain's `arch`.
 */
import { XMLParser } from "fast-xml-parser";
import { consoleKernelArgs, type PortForward } from "../../host/machine.js";
import { TCG_TB_CACHE_MIB, type Accel } from "../../host/accel.js";
import type { GuestArch } from "../../host/arch.js";

export const METADATA_NS = "https://github.com/bootc-console/ns/vm/1";
const QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0";

export interface DomainSpec {
  name: string;
  /** The guest's architecture (the image's): the libvirt host's own, or one it emulates (TCG). */
  arch: GuestArch;
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  /** The overlay volume the guest boots from (/dev/vda), in `pool`. */
  pool: string;
  overlayVolume: string;
  /** A cloud-init NoCloud seed ISO volume in `pool`, attached read-only as /dev/vdb. */
  seedVolume?: string;
  /** Direct kernel boot (direct-built disks): paths on the libvirt host. Absent: UEFI boots the disk. */
  kernel?: { kernel: string; initrd: string; cmdline: string[] };
  /** Unix socket (on the libvirt host) of the serial console, and its log file. */
  serialSocket: string;
  serialLog: string;
  sshPort: number;
  forwards: PortForward[];
  /** --allow-host-loopback: full user networking, the libvirt host's 127.0.0.1 included; otherwise restrict=on. */
  allowHostLoopback: boolean;
  /**
   * Host directories shared with the guest through virtiofs (a local libvirt host only:
   * libvirt starts `virtiofsd`, the given binary, per share). Guest memory is then shared.
   */
  shares: Array<{ dir: string; tag: string; readOnly: boolean }>;
  virtiofsd?: string;
  /** SMBIOS type 11 strings: `io.systemd.credential.binary:NAME=BASE64`. */
  oemStrings: string[];
  /** Stored as the domain's metadata: the VM record. */
  metadata: unknown;
}

/** Text or attribute content: the five XML specials escaped, control characters refused. */
export function xmlEscape(value: string): string {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value))
    throw new Error(`a value for the domain XML holds a control character: ${JSON.stringify(value).slice(0, 60)}`);
  return value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const el = (tag: string, text: string, attrs = "") => `<${tag}${attrs}>${xmlEscape(text)}</${tag}>`;

function machine(s: DomainSpec): { type: "kvm" | "qemu"; arch: string; machine: string } {
  return { type: s.accel === "kvm" ? "kvm" : "qemu", arch: s.arch, machine: s.arch === "aarch64" ? "virt" : "q35" };
}

function osXml(s: DomainSpec): string[] {
  const m = machine(s);
  const head = `<type arch='${m.arch}' machine='${m.machine}'>hvm</type>`;
  const smbios = s.oemStrings.length ? ["<smbios mode='sysinfo'/>"] : [];
  // Secure Boot off: which firmware build a host picks is then irrelevant to what boots.
  if (!s.kernel) return [`<os firmware='efi'>`, head, "<firmware><feature enabled='no' name='secure-boot'/></firmware>", ...smbios, "</os>"];
  // No virtio console for the messages here: libvirt logs the serial port, the one console bootc shows.
  const cmdline = [...consoleKernelArgs(s.accel, s.arch, false), ...s.kernel.cmdline].join(" ");
  return ["<os>", head, el("kernel", s.kernel.kernel), el("initrd", s.kernel.initrd), el("cmdline", cmdline), ...smbios, "</os>"];
}

/** user-mode networking with SSH and the user's forwards on the libvirt host's loopback. */
function netArgs(s: DomainSpec): string[] {
  const forwards = [{ host: s.sshPort, guest: 22 }, ...s.forwards].map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`);
  // A fixed PCI slot: libvirt places its own devices from slot 1 up and does not know of this one.
  const device = s.arch === "aarch64" ? "virtio-net-pci,netdev=bootcnet" : "virtio-net-pci,netdev=bootcnet,bus=pcie.0,addr=0x10";
  const restrict = s.allowHostLoopback ? "" : ",restrict=on";
  return ["-netdev", `user,id=bootcnet${restrict}${forwards.join("")}`, "-device", device];
}

/** virtiofs shares; vhost-user needs guest memory that virtiofsd can map (memfd, shared). */
function shareXml(s: DomainSpec): { memory: string[]; devices: string[] } {
  if (!s.shares.length) return { memory: [], devices: [] };
  if (!s.virtiofsd) throw new Error("shares need the path of virtiofsd on the libvirt host");
  return {
    memory: ["<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>"],
    devices: s.shares.flatMap((sh) => [
      "<filesystem type='mount' accessmode='passthrough'>",
      "<driver type='virtiofs'/>",
      `<binary path='${xmlEscape(s.virtiofsd!)}'/>`,
      `<source dir='${xmlEscape(sh.dir)}'/>`,
      `<target dir='${xmlEscape(sh.tag)}'/>`,
      // Read-only is enforced in the guest (its fstab line mounts ro): libvirt 9 has no
      // read-only virtiofs export.
      "</filesystem>",
    ]),
  };
}

export function domainXml(s: DomainSpec): string {
  const shares = shareXml(s);
  const m = machine(s);
  const cpu = s.accel === "kvm" ? ["<cpu mode='host-passthrough'/>"] : s.arch === "aarch64" ? ["<cpu mode='maximum' check='none'/>"] : [];
  // ACPI: always on x86_64; on arm64 only with UEFI firmware (libvirt refuses it otherwise).
  // Under TCG, the translation cache the direct runtime gives qemu too (TCG_TB_CACHE_MIB; libvirt ≥ 8.0).
  // Without VMware's I/O port on x86_64 (as the direct runtime's q35, host/q35.ts). libvirt
  // 9.0 knows no <ps2 state='off'/> yet, and always adds q35's SATA controller.
  const features = [
    ...(s.arch === "aarch64" && s.kernel ? [] : ["<acpi/>"]),
    ...(s.arch === "aarch64" ? ["<gic version='3'/>"] : ["<vmport state='off'/>"]),
    ...(m.type === "qemu" ? [`<tcg><tb-cache unit='MiB'>${TCG_TB_CACHE_MIB}</tb-cache></tcg>`] : []),
  ];
  const sysinfo = s.oemStrings.length
    ? ["<sysinfo type='smbios'>", "<oemStrings>", ...s.oemStrings.map((o) => el("entry", o)), "</oemStrings>", "</sysinfo>"]
    : [];
  return [
    `<domain type='${m.type}' xmlns:qemu='${QEMU_NS}'>`,
    el("name", s.name),
    "<metadata>",
    el("bootc:vm", JSON.stringify(s.metadata), ` xmlns:bootc='${METADATA_NS}'`),
    "</metadata>",
    `<memory unit='MiB'>${s.memoryMiB}</memory>`,
    `<vcpu>${s.cpus}</vcpu>`,
    ...shares.memory,
    ...cpu,
    ...sysinfo,
    ...osXml(s),
    `<features>${features.join("")}</features>`,
    // A guest that powers off stays defined (shut off), like a stopped VM of the direct runtime.
    "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>",
    "<devices>",
    "<disk type='volume' device='disk'>",
    "<driver name='qemu' type='qcow2' discard='unmap'/>",
    `<source pool='${xmlEscape(s.pool)}' volume='${xmlEscape(s.overlayVolume)}'/>`,
    "<target dev='vda' bus='virtio'/>",
    "</disk>",
    ...(s.seedVolume
      ? [
          "<disk type='volume' device='disk'>",
          "<driver name='qemu' type='raw'/>",
          `<source pool='${xmlEscape(s.pool)}' volume='${xmlEscape(s.seedVolume)}'/>`,
          "<target dev='vdb' bus='virtio'/>",
          "<readonly/>",
          "</disk>",
        ]
      : []),
    "<serial type='unix'>",
    `<source mode='bind' path='${xmlEscape(s.serialSocket)}'/>`,
    `<log file='${xmlEscape(s.serialLog)}' append='on'/>`,
    "<target port='0'/>",
    "</serial>",
    ...shares.devices,
    "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    // Not the USB controller and memory balloon libvirt adds unless told: nothing of the
    // guest's uses them, and under TCG probing them cost 11 % more CPU to SSH (docs/benchmarks.md).
    "<controller type='usb' model='none'/>",
    "<memballoon model='none'/>",
    "</devices>",
    "<qemu:commandline>",
    ...netArgs(s).map((a) => `<qemu:arg value='${xmlEscape(a)}'/>`),
    "</qemu:commandline>",
    "</domain>",
  ].join("\n");
}

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, parseAttributeValue: false, trimValues: false });

/**
 * The metadata bootc stored in a domain (the text of its `vm` element in METADATA_NS), or
 * undefined for a domain bootc did not make. libvirt may rename the namespace prefix when
 * it writes the XML back, so the element is found by its namespace URI.
 */
export function readDomainMetadata(xml: string): unknown {
  let metadata: Record<string, unknown> | undefined;
  try {
    metadata = (parser.parse(xml) as { domain?: { metadata?: Record<string, unknown> } }).domain?.metadata;
  } catch {
    return undefined;
  }
  if (!metadata || typeof metadata !== "object") return undefined;
  for (const [tag, value] of Object.entries(metadata)) {
    const [prefix, local] = tag.split(":");
    if (local !== "vm" || typeof value !== "object" || value === null) continue;
    const node = value as Record<string, unknown>;
    if (node[`@_xmlns:${prefix}`] !== METADATA_NS || typeof node["#text"] !== "string") continue;
    try {
      return JSON.parse(node["#text"]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The directory of a dir storage pool, from its XML (virsh pool-dumpxml). */
export function poolDirectory(xml: string): string | undefined {
  const path = (parser.parse(xml) as { pool?: { target?: { path?: unknown } } }).pool?.target?.path;
  return typeof path === "string" && path.trim() ? path.trim() : undefined;
}
