/**
 * Finding the host programs the engine drives. Lookups read PATH from the environment
 * given (so tests can hide tools), then fall back to the fixed places distributions use
 * for helpers that are not on PATH (virtiofsd, firmware).
 */
import { accessSync, constants, existsSync } from "node:fs";
import path from "node:path";
import { BootcError } from "../core/errors.js";
import { ARCH_PROFILES, firmwareInstallHint, qemuInstallHint } from "./arch.js";

export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

export type HostArch = "x86_64" | "aarch64";

export function hostArch(arch: string = process.arch): HostArch {
  if (arch === "x64") return "x86_64";
  if (arch === "arm64") return "aarch64";
  throw new BootcError("INVALID_ARGUMENT", `unsupported host architecture ${arch}`, "bootc-console runs on x86_64 and arm64 hosts.");
}

export const qemuBinaryName = (arch: HostArch) => `qemu-system-${arch}`;

/** Installation hint per tool, shown with every "missing" error. */
export const INSTALL_HINT: Record<string, string> = {
  podman: "install podman (Debian/Ubuntu: apt-get install podman runc; Fedora: dnf install podman; macOS: brew install podman), or run bootc setup",
  qemu: "install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils; Fedora: dnf install qemu-kvm qemu-img; macOS: brew install qemu), or run bootc setup",
  "qemu-img": "install qemu-img (Debian/Ubuntu: qemu-utils; Fedora: qemu-img; macOS: part of brew's qemu)",
  virtiofsd:
    "install virtiofsd (Debian 12: qemu-system-common ships /usr/lib/qemu/virtiofsd; Debian 13/Ubuntu/Fedora: package virtiofsd), or set BOOTC_VIRTIOFSD=/path/to/virtiofsd",
  firmware: "install UEFI firmware (Debian/Ubuntu: ovmf; Fedora: edk2-ovmf; macOS: part of brew's qemu)",
  passt:
    "install passt (Debian/Ubuntu/Fedora: apt-get/dnf install passt): it gives guests an outbound network that does not reach the host's loopback; without it they get none, unless --allow-host-loopback",
  xorriso: "install xorriso (used to build cloud-init seed ISOs): apt-get/dnf install xorriso, brew install xorriso",
  mcopy: "install mtools (writes credentials into a disk's EFI system partition): apt-get/dnf install mtools, brew install mtools",
  ssh: "install the OpenSSH client (Debian/Ubuntu: openssh-client; Fedora: openssh-clients)",
  "ssh-keygen": "install the OpenSSH client (Debian/Ubuntu: openssh-client; Fedora: openssh-clients)",
};

/**
 * macOS: everything comes from Homebrew. qemu-img and the edk2 firmware are part of its
 * qemu; podman runs containers in a podman machine (a Linux VM) it manages.
 */
export const MACOS_INSTALL_HINT: Record<string, string> = {
  podman: "brew install podman, then podman machine init && podman machine start",
  qemu: "brew install qemu",
  "qemu-img": "brew install qemu (qemu-img is part of it)",
  firmware: "brew install qemu (edk2 firmware is in its share/qemu)",
  vfkit: "brew install vfkit",
  xorriso: "brew install xorriso",
  mcopy: "brew install mtools",
  ssh: "macOS has the OpenSSH client built in: check that /usr/bin is on PATH",
  "ssh-keygen": "macOS has the OpenSSH client built in: check that /usr/bin is on PATH",
};

/** How to install `name` on this platform. */
export function installHint(name: string, platform: NodeJS.Platform = process.platform): string {
  return (platform === "darwin" ? MACOS_INSTALL_HINT[name] : undefined) ?? INSTALL_HINT[name] ?? `install ${name}`;
}

export function requireTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const found = findOnPath(name, env);
  if (!found) {
    throw new BootcError("MISSING_TOOL", `${name} was not found on PATH`, installHint(name));
  }
  return found;
}

export function findQemu(env: NodeJS.ProcessEnv = process.env, arch: HostArch = hostArch()): string {
  const name = qemuBinaryName(arch);
  const found = env.BOOTC_QEMU ?? findOnPath(name, env);
  if (!found) throw new BootcError("MISSING_TOOL", `${name} was not found on PATH`, arch === hostArch() ? installHint("qemu") : qemuInstallHint(arch));
  return found;
}

export type VirtiofsdFlavour = "c" | "rust";
export interface Virtiofsd {
  path: string;
  flavour: VirtiofsdFlavour;
  version: string;
}

const VIRTIOFSD_PLACES = ["/usr/libexec/virtiofsd", "/usr/lib/virtiofsd", "/usr/lib/qemu/virtiofsd", "/opt/homebrew/bin/virtiofsd"];

/**
 * virtiofsd comes in two flavours with different flags: the C one shipped with QEMU ≤ 7
 * (`-o source=DIR`) and the Rust one (`--shared-dir DIR`). We ask its --help which it is.
 */
export async function findVirtiofsd(env: NodeJS.ProcessEnv = process.env): Promise<Virtiofsd> {
  if (env.BOOTC_VIRTIOFSD && !existsSync(env.BOOTC_VIRTIOFSD)) {
    throw new BootcError("MISSING_TOOL", `virtiofsd was not found at ${env.BOOTC_VIRTIOFSD} (BOOTC_VIRTIOFSD)`, INSTALL_HINT.virtiofsd);
  }
  const candidates = [env.BOOTC_VIRTIOFSD, findOnPath("virtiofsd", env), ...VIRTIOFSD_PLACES].filter((p): p is string => !!p && existsSync(p));
  const found = candidates[0];
  if (!found) throw new BootcError("MISSING_TOOL", "virtiofsd was not found", INSTALL_HINT.virtiofsd);
  // Loaded here, not at the top: the CLI's quick commands (list, ssh) import this module.
  const { execa } = await import("execa");
  const help = await execa(found, ["--help"], { reject: false, all: true, timeout: 10_000 });
  const text = help.all ?? "";
  const flavour: VirtiofsdFlavour = text.includes("--shared-dir") ? "rust" : "c";
  const ver = await execa(found, ["--version"], { reject: false, all: true, timeout: 10_000 });
  const version = /(\d+\.\d+(?:\.\d+)?)/.exec(ver.all ?? "")?.[1] ?? "unknown";
  return { path: found, flavour, version };
}

export interface Firmware {
  code: string;
  vars: string;
}

/** The distributions' firmware packages per architecture (arch.ts). */
const linuxFirmware = (arch: HostArch): Firmware[] => ARCH_PROFILES[arch].firmware.map(([code, vars]) => ({ code, vars }));

/**
 * The edk2 builds QEMU itself ships (its pc-bios, installed by Homebrew's qemu under
 * PREFIX/share/qemu): the code and a variable-store template per architecture.
 */
export function qemuShareFirmware(prefix: string, arch: HostArch): Firmware {
  const dir = path.join(prefix, "share", "qemu");
  return arch === "aarch64"
    ? { code: path.join(dir, "edk2-aarch64-code.fd"), vars: path.join(dir, "edk2-arm-vars.fd") }
    : { code: path.join(dir, "edk2-x86_64-code.fd"), vars: path.join(dir, "edk2-i386-vars.fd") };
}

/**
 * Where UEFI firmware for `arch` may be, first match wins: the distributions' packages on
 * Linux; on macOS, Homebrew's qemu (HOMEBREW_PREFIX, else /opt/homebrew on Apple silicon
 * and /usr/local on Intel).
 */
export function firmwareCandidates(
  arch: HostArch,
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): Firmware[] {
  if (platform !== "darwin") return linuxFirmware(arch);
  const prefixes = [...new Set([env.HOMEBREW_PREFIX, "/opt/homebrew", "/usr/local"].filter((p): p is string => !!p))];
  return prefixes.map((p) => qemuShareFirmware(p, arch));
}

/** The UEFI firmware for a guest architecture, or a MISSING_TOOL error saying what needed it and how to install it. */
export function requireFirmware(neededFor: string, arch: HostArch = hostArch()): Firmware {
  const fw = findFirmware(arch);
  if (!fw) {
    const hint = arch === hostArch() ? installHint("firmware") : firmwareInstallHint(arch);
    throw new BootcError("MISSING_TOOL", `no UEFI firmware for ${arch} guests found (needed ${neededFor})`, hint);
  }
  return fw;
}

export function findFirmware(arch: HostArch = hostArch(), platform: NodeJS.Platform = process.platform): Firmware | undefined {
  return firmwareCandidates(arch, platform).find((f) => existsSync(f.code) && existsSync(f.vars));
}
