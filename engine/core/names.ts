/**
 * VM names and the fixed lists of option values, without zod: the paths and the records
 * need them, and `bootc list` reads records without building the option schemas
 * (schema.ts, which re-exports these).
 */
import { BootcError } from "./errors.js";

export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,39}$/;
export const NAME_RULE = "use 1–40 characters: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit";

/** A VM name is a path component of the state and runtime dirs: this is what keeps `../x` out. */
export function validateName(name: string): string {
  if (typeof name !== "string" || !NAME_RE.test(name) || name === "." || name === "..") {
    throw new BootcError("INVALID_ARGUMENT", `${JSON.stringify(String(name)).slice(0, 80)} is not a valid VM name`, NAME_RULE);
  }
  return name;
}

export const PULL_POLICIES = ["missing", "always", "never"] as const;
export const ACCELS = ["kvm", "hvf", "tcg"] as const;
/** --arch's values: podman's names and qemu's (engine/host/arch.ts maps them). */
export const ARCH_NAMES = ["amd64", "arm64", "x86_64", "aarch64"] as const;
export const CREDENTIAL_TRANSPORTS = ["smbios", "fw_cfg", "cmdline", "esp"] as const;
export const BUILDERS = ["auto", "direct", "install"] as const;
export const MODES = ["ephemeral", "disk"] as const;
export const CLOUD_INIT_TRANSPORTS = ["cdrom", "imds"] as const;
/**
 * q35's built-in devices no guest of bootc's uses (its disks, seeds and network are virtio;
 * its consoles serial and virtio): the SATA controller, the SMBus, the PS/2 controller and
 * VMware's I/O port. qemu's machine properties of the same names turn them off (host/q35.ts).
 */
export const UNUSED_Q35_DEVICES = ["sata", "smbus", "i8042", "vmport"] as const;
