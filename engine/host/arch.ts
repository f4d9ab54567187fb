/**
 * The guest's architecture and what follows from it, as data: the guest runs the image's
 * architecture (podman's name for it), not the host's. A foreign one is emulated by the
 * matching qemu under TCG, never KVM or HVF, which run only the host's own instruction set.
 */
import { BootcError } from "../core/errors.js";
import type { Accel } from "./accel.js";
import type { HostArch } from "./tools.js";

/** qemu's and the kernel's names (x86_64, aarch64); podman's are amd64 and arm64. */
export type GuestArch = HostArch;

export interface ArchProfile {
  /** podman's (OCI's) name. */
  podman: string;
  qemuBinary: string;
  /** The serial console's device in the guest. */
  console: string;
  /** Debian's packages for the emulator and the UEFI firmware, named in errors. */
  debianQemuPackage: string;
  debianFirmwarePackage: string;
  /** UEFI firmware on Linux (code, variable store template), in the order distributions place them; macOS: tools.ts. */
  firmware: Array<[code: string, vars: string]>;
}

export const ARCH_PROFILES: Record<GuestArch, ArchProfile> = {
  x86_64: {
    podman: "amd64",
    qemuBinary: "qemu-system-x86_64",
    console: "ttyS0",
    debianQemuPackage: "qemu-system-x86",
    debianFirmwarePackage: "ovmf",
    firmware: [
      ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"],
      ["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"],
      ["/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"],
    ],
  },
  aarch64: {
    podman: "arm64",
    qemuBinary: "qemu-system-aarch64",
    console: "ttyAMA0",
    debianQemuPackage: "qemu-system-arm",
    debianFirmwarePackage: "qemu-efi-aarch64",
    firmware: [
      // Debian's qemu-efi-aarch64 (AAVMF, padded to the 64 MiB pflash size), Fedora's edk2-aarch64 (macOS: tools.ts).
      ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"],
      ["/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "/usr/share/edk2/aarch64/vars-template-pflash.raw"],
    ],
  },
};

const ALIASES: Record<string, GuestArch> = { amd64: "x86_64", x86_64: "x86_64", arm64: "aarch64", aarch64: "aarch64" };

/**
 * The guest architecture for an image whose config says `podmanArch` (podman image inspect's
 * Architecture), or for `override` (--arch; podman's or qemu's name). An image that does not
 * say runs the host's. An architecture the engine has no qemu profile for is refused.
 */
export function guestArch(podmanArch: string, host: HostArch, override?: string): GuestArch {
  const name = (override ?? podmanArch).trim().toLowerCase();
  if (!name) return host;
  const arch = ALIASES[name];
  if (arch) return arch;
  const from = override !== undefined ? `--arch ${override}` : `the image's architecture "${podmanArch}"`;
  throw new BootcError(
    "INVALID_ARGUMENT",
    `${from} is not one bootc-console can boot (it boots amd64 and arm64 images)`,
    override !== undefined ? "use --arch amd64 or --arch arm64" : "build or pull the image for amd64 or arm64 (podman --platform linux/arm64)",
  );
}

/** --arch's value (podman's or qemu's name), validated. */
export const guestArchFlag = (value: string): GuestArch => {
  const arch = ALIASES[value.trim().toLowerCase()];
  if (arch) return arch;
  throw new BootcError(
    "INVALID_ARGUMENT",
    `--arch ${value || '""'} is not one bootc-console can boot (it boots amd64 and arm64 images)`,
    "use --arch amd64 or --arch arm64",
  );
};

export const podmanArchName = (arch: GuestArch): string => ARCH_PROFILES[arch].podman;

export const isForeign = (guest: GuestArch, host: HostArch): boolean => guest !== host;

/**
 * For an image of another architecture than the host's, the words saying it boots emulated
 * (the Images page and its boot dialog show them); undefined for the host's, an unnamed or
 * an unbootable architecture.
 */
export function emulationNote(podmanArch: string, host: HostArch): string | undefined {
  const guest = ALIASES[podmanArch.trim().toLowerCase()];
  if (!guest || !isForeign(guest, host)) return undefined;
  return `emulated (slow): an ${podmanArchName(guest)} image on this ${podmanArchName(host)} host runs under ${ARCH_PROFILES[guest].qemuBinary} with TCG, several times slower than a native boot`;
}

export interface GuestAccel {
  accel: Accel;
  /** One line for the user when the guest is emulated because it is foreign. */
  note?: string;
}

/**
 * The accelerator a guest really gets: KVM and HVF run only the host's instruction set, so a
 * foreign guest gets TCG, with a note; asking for KVM or HVF for it explicitly is an error.
 */
export function guestAccel(o: { guest: GuestArch; host: HostArch; chosen: Accel; explicit: boolean }): GuestAccel {
  if (!isForeign(o.guest, o.host)) return { accel: o.chosen };
  if (o.chosen !== "tcg" && o.explicit) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `--accel ${o.chosen} cannot run an ${podmanArchName(o.guest)} guest on this ${podmanArchName(o.host)} host: only TCG emulates another architecture`,
      "drop --accel (or use --accel tcg)",
    );
  }
  return {
    accel: "tcg",
    note: `${podmanArchName(o.guest)} guest on an ${podmanArchName(o.host)} host: emulated by ${ARCH_PROFILES[o.guest].qemuBinary} under TCG, several times slower than a native boot`,
  };
}

/** What to install for a guest architecture's emulator, in the words of an error hint. */
export const qemuInstallHint = (arch: GuestArch): string =>
  `install ${ARCH_PROFILES[arch].qemuBinary} (Debian/Ubuntu: apt-get install ${ARCH_PROFILES[arch].debianQemuPackage}; Fedora: dnf install qemu-system-${arch === "aarch64" ? "aarch64" : "x86"}), or run bootc setup`;

export const firmwareInstallHint = (arch: GuestArch): string =>
  `install UEFI firmware for ${podmanArchName(arch)} guests (Debian/Ubuntu: apt-get install ${ARCH_PROFILES[arch].debianFirmwarePackage}; Fedora: dnf install ${arch === "aarch64" ? "edk2-aarch64" : "edk2-ovmf"})`;

/**
 * --platform as podman takes it (OS/ARCH[/VARIANT]), for an architecture bootc-console can
 * boot: linux/amd64, linux/arm64, linux/arm64/v8 (qemu's names too, as podman's). Checked here so a typo fails in one
 * sentence rather than as a pull of a platform the image does not have.
 */
export function parsePlatform(text: string): { platform: string; arch: GuestArch } {
  const [os, archName, variant, ...rest] = text.trim().toLowerCase().split("/");
  const arch = archName ? ALIASES[archName] : undefined;
  if (os !== "linux" || !arch || rest.length || (variant !== undefined && !/^v[0-9]+$/.test(variant))) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `--platform ${JSON.stringify(text)} is not a platform bootc-console can boot (linux/amd64 or linux/arm64)`,
      "use --platform linux/amd64 or --platform linux/arm64",
    );
  }
  return { platform: [os, podmanArchName(arch), ...(variant ? [variant] : [])].join("/"), arch };
}

/** The platform to pull for a guest architecture (bootc run --arch). */
export const platformOf = (arch: GuestArch): string => `linux/${podmanArchName(arch)}`;

/**
 * A VM's guest architecture in podman's words, for list and inspect: the record's (a foreign
 * guest's) or, since a record leaves out the host's own, this host's for a VM that runs here;
 * undefined for a libvirt VM on another host, whose architecture is that host's.
 */
export function vmArch(v: { arch?: GuestArch; connection?: string }, host: HostArch): string | undefined {
  if (v.arch) return podmanArchName(v.arch);
  return !v.connection || v.connection.startsWith("qemu:///") ? podmanArchName(host) : undefined;
}

/** A VM as list --json, inspect and the web console show it: with guestArch (podman's name), the host's when its record leaves arch out. */
export const withGuestArch = <T extends { arch?: GuestArch; connection?: string }>(v: T, host: HostArch): T & { guestArch?: string } => {
  const guestArch = vmArch(v, host);
  return guestArch ? { ...v, guestArch } : v;
};
