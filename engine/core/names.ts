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
