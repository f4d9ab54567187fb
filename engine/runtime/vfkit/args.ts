/**
 * The vfkit command line for a VM (macOS, Apple's Virtualization framework), built by one
 * pure function as the qemu one is (direct/qemu-args.ts). Nothing runs it yet: docs/macos.md
 * is the design of the runtime it belongs to. Every flag is vfkit's documented one
 * (crc-org/vfkit doc/usage.md).
 *
 * vfkit splits a `--device`/`--bootloader` value on every comma and knows no escape (unlike
 * qemu's doubled commas), so a value with a comma cannot be said: it is refused here, with
 * the field it came from, rather than silently cut into a second option.
 */
import { createHash } from "node:crypto";
import { BootcError } from "../../core/errors.js";

export type VfkitBoot =
  /** UEFI (macOS 13+): the disk's own boot loader; the variable store is the VM's, made on first boot. */
  | { kind: "efi"; variableStore: string }
  /** Direct kernel boot: the kernel must be uncompressed (an arm64 `Image`, not a gzip'd vmlinuz). */
  | { kind: "linux"; kernel: string; initrd?: string; cmdline: string[] };

export type VfkitNetwork =
  /** Apple's NAT (vmnet): outbound, and the host reaches the guest at its DHCP address. */
  | { kind: "nat"; mac: string }
  /** A user-mode network stack (gvisor-tap-vsock) on a unix datagram socket: port forwards on 127.0.0.1. */
  | { kind: "socket"; path: string; mac: string };

export interface VfkitSpec {
  cpus: number;
  memoryMiB: number;
  boot: VfkitBoot;
  /**
   * Raw disk images (the framework reads no qcow2), in order: /dev/vda first. vfkit has no
   * read-only disk, so each is the VM's own (an APFS clone of a cached base or root image).
   */
  disks: string[];
  network: VfkitNetwork;
  /** The guest's console (hvc0): vfkit's stdio (the monitor owns both ends), or a log file. */
  serial: { kind: "stdio" } | { kind: "file"; path: string };
  /** Host directories served by the framework's own virtio-fs (no virtiofsd). */
  shares: Array<{ dir: string; tag: string }>;
  /** vsock ports exposed as unix sockets on the host (macOS has no AF_VSOCK). */
  vsock: Array<{ port: number; socket: string; direction: "listen" | "connect" }>;
  /** vfkit's REST API (state, stop) on a unix socket; absent: none. */
  restSocket?: string;
}

/** A value inside a vfkit option list: no comma, no control character (vfkit cannot escape them). */
export function vfkitOptionValue(field: string, v: string): string {
  if (v.includes(",") || [...v].some((c) => c.charCodeAt(0) < 0x20)) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `${field} ${JSON.stringify(v)} cannot be given to vfkit: it splits its options at every comma`,
      "use a path (or value) without commas",
    );
  }
  return v;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * A stable MAC address for a VM: the same name gets the same address across boots (so
 * macOS's DHCP server gives it the same lease), locally administered and unicast.
 */
export function vmMac(name: string): string {
  const b = createHash("sha256").update(`bootc-console:${name}`).digest().subarray(0, 6);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
}

/** The guest's console device under vfkit: a virtio console, not a UART. */
export const VFKIT_CONSOLE = "hvc0";

function bootArgs(b: VfkitBoot): string[] {
  if (b.kind === "efi") return ["--bootloader", `efi,variable-store=${vfkitOptionValue("the EFI variable store", b.variableStore)},create`];
  const cmdline = [`console=${VFKIT_CONSOLE}`, ...b.cmdline].join(" ");
  if (cmdline.includes('"')) throw new BootcError("INVALID_ARGUMENT", "a kernel argument for vfkit cannot contain a double quote", "remove the quote");
  const parts = [
    "linux",
    `kernel=${vfkitOptionValue("the kernel", b.kernel)}`,
    ...(b.initrd ? [`initrd=${vfkitOptionValue("the initrd", b.initrd)}`] : []),
    // vfkit's documented form: the command line in double quotes (it trims them).
    `cmdline="${vfkitOptionValue("the kernel command line", cmdline)}"`,
  ];
  return ["--bootloader", parts.join(",")];
}

function netArgs(n: VfkitNetwork): string[] {
  if (!MAC_RE.test(n.mac)) throw new BootcError("INVALID_ARGUMENT", `not a MAC address: ${JSON.stringify(n.mac)}`);
  const attach = n.kind === "nat" ? "nat" : `unixSocketPath=${vfkitOptionValue("the network socket", n.path)}`;
  return ["--device", `virtio-net,${attach},mac=${n.mac}`];
}

export function buildVfkitArgs(s: VfkitSpec): string[] {
  const device = (spec: string) => ["--device", spec];
  return [
    "--cpus",
    String(s.cpus),
    "--memory",
    String(s.memoryMiB),
    ...bootArgs(s.boot),
    ...s.disks.flatMap((d) => device(`virtio-blk,path=${vfkitOptionValue("the disk", d)}`)),
    ...netArgs(s.network),
    ...device(s.serial.kind === "stdio" ? "virtio-serial,stdio" : `virtio-serial,logFilePath=${vfkitOptionValue("the serial log", s.serial.path)}`),
    ...s.shares.flatMap((sh) =>
      device(`virtio-fs,sharedDir=${vfkitOptionValue("the shared folder", sh.dir)},mountTag=${vfkitOptionValue("the share tag", sh.tag)}`),
    ),
    ...s.vsock.flatMap((v) => device(`virtio-vsock,port=${v.port},socketURL=${vfkitOptionValue("the vsock socket", v.socket)},${v.direction}`)),
    ...device("virtio-rng"),
    "--restful-uri",
    s.restSocket ? `unix://${vfkitOptionValue("the REST socket", s.restSocket)}` : "none://",
  ];
}
