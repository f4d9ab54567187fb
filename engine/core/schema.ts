/**
 * The engine's input rules, on its bottom floor: every name, user, path, port and kernel
 * argument a caller hands the engine is checked here — whether it came from the CLI, the
 * API or a library caller — and every value that goes into an option string of another
 * program (qemu, virtiofsd, fstab) is escaped here. The API reuses these schemas at its
 * edge so a form shows the same rule; the engine never relies on that.
 */
import path from "node:path";
import { z } from "zod";
import { BootcError } from "./errors.js";

export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,39}$/;
const NAME_RULE = "use 1–40 characters: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit";

/** A VM name is a path component of the state and runtime dirs: this is what keeps `../x` out. */
export function validateName(name: string): string {
  if (typeof name !== "string" || !NAME_RE.test(name) || name === "." || name === "..") {
    throw new BootcError("INVALID_ARGUMENT", `${JSON.stringify(String(name)).slice(0, 80)} is not a valid VM name`, NAME_RULE);
  }
  return name;
}

// POSIX portable user names (what useradd accepts by default): they go into tmpfiles lines.
export const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
// Control characters (newlines above all) would start a new line in fstab, tmpfiles or a credential.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export const vmNameSchema = z.string().regex(NAME_RE, NAME_RULE);
export const userSchema = z.string().regex(USER_RE, "not a user name: lower-case letters, digits, '_' and '-', starting with a letter or '_'");
export const portSchema = z.number().int().min(1, "ports are 1–65535").max(65535, "ports are 1–65535");
export const hostPathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !CONTROL.test(p), "must not contain control characters");
export const absHostPathSchema = hostPathSchema.refine((p) => p.startsWith("/"), "must be an absolute path");
export const guestPathSchema = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith("/") && path.posix.normalize(p) !== "/", "must be an absolute guest directory other than /")
  .refine((p) => !CONTROL.test(p), "must not contain control characters")
  .transform((p) => path.posix.normalize(p));
export const kargSchema = z
  .string()
  .min(1)
  .max(256)
  .refine((k) => !/\s/.test(k) && !CONTROL.test(k), "one kernel argument, without spaces (give each argument on its own)");
export const imageRefSchema = z
  .string()
  .trim()
  .min(1, "give an image reference")
  .max(512)
  .refine((s) => !s.startsWith("-") && !/\s/.test(s), "not an image reference");

/** What a caller may ask for when creating a VM. Strict: an unknown field is an error, not ignored. */
export const RunOptionsSchema = z.strictObject({
  /** The image to boot; may be empty only with `disk` (a premade disk). */
  image: z.union([imageRefSchema, z.literal("")]).default(""),
  /** Like podman's --pull: pull the image when it is not local (missing), every time (always), or never. */
  pull: z.enum(["missing", "always", "never"]).default("missing"),
  /** ephemeral: virtiofs root, nothing kept; disk: a persistent disk (overlay on a cached base). */
  mode: z.enum(["ephemeral", "disk"]).default("ephemeral"),
  /** Disk mode: how to make the base disk (auto: bootc install if the image has bootc). */
  builder: z.enum(["auto", "direct", "install"]).default("auto"),
  diskSizeBytes: z.number().int().min(64 * 1024 * 1024, "disk sizes start at 64M").max(16 * 1024 ** 4).optional(),
  filesystem: z.enum(["ext4", "xfs", "btrfs"]).default("ext4"),
  /** Boot this existing .qcow2/.raw disk (UEFI) under an overlay; implies disk mode. */
  disk: hostPathSchema.optional(),
  name: vmNameSchema.optional(),
  cpus: z.number().int().optional(),
  memoryMiB: z.number().int().optional(),
  forwards: z.array(z.strictObject({ host: portSchema, guest: portSchema })).max(32).default([]),
  binds: z.array(z.strictObject({ host: hostPathSchema, guest: guestPathSchema, readOnly: z.boolean() })).max(16).default([]),
  kargs: z.array(kargSchema).max(32).default([]),
  /** The user SSH (and the serial console's password and autologin) is for; created at boot when the image lacks it. */
  user: userSchema.default("root"),
  /** A private key to use instead of a new per-VM one; its public key is injected. */
  identity: hostPathSchema.optional(),
  /** Inject the host user's own key (~/.ssh/id_ed25519, else id_rsa) instead of making one. */
  injectUserKey: z.boolean().default(false),
  /** A password for `user` (hashed at once; only the hash is kept, outside the record). */
  password: z
    .string()
    .min(1, "the password is empty")
    .max(1024)
    .refine((p) => !CONTROL.test(p), "the password must be printable characters on one line")
    .optional(),
  /** Log `user` in on the serial console without a password. */
  autologin: z.boolean().default(false),
  /** A kickstart whose users, settings and %post are applied at first boot (engine/provision/kickstart.ts). */
  kickstart: hostPathSchema.optional(),
  /** A cloud-init NoCloud directory, handed over as a seed ISO (cdrom) or over HTTP (imds). */
  cloudInit: z.strictObject({ transport: z.enum(["cdrom", "imds"]).default("cdrom"), dir: hostPathSchema }).optional(),
  /** Force how credentials reach the guest (normally chosen by machine); for tests and odd firmware. */
  credentialTransport: z.enum(["smbios", "fw_cfg", "cmdline"]).optional(),
  removeOnStop: z.boolean().default(false),
  removeImageOnStop: z.boolean().default(false),
  /** A VM with this name is stopped and removed first, once everything else has been checked. */
  replace: z.boolean().default(false),
  accel: z.string().optional(),
  readyTimeoutSec: z.number().int().min(10).max(24 * 3600).default(600),
  /**
   * Run the VM as a libvirt domain on this libvirt connection (a saved host's name, or a
   * URI: qemu:///system, qemu+ssh://USER@HOST/system) instead of under bootc's own monitor.
   */
  connect: z.string().min(1).max(1024).refine((s) => !CONTROL.test(s), "must not contain control characters").optional(),
  /** With `connect`: libvirt starts the VM when the host boots. */
  autostart: z.boolean().default(false),
});
export type RunOptions = z.input<typeof RunOptionsSchema>;
export type ParsedRunOptions = z.output<typeof RunOptionsSchema>;

/** Parses run options; a bad one becomes one sentence naming the field and the rule. */
export function parseRunOptions(input: unknown): ParsedRunOptions {
  // The name is the one field users type most: it gets the sentence that quotes it.
  const name = (input as { name?: unknown } | null)?.name;
  if (typeof name === "string") validateName(name);
  const r = RunOptionsSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join(".") || "options";
  throw new BootcError("INVALID_ARGUMENT", `invalid ${field}: ${issue.message}`, "fix that value and try again");
}

/** A value inside a qemu option string (`-drive file=…,format=…`): a comma is written twice. */
export const qemuOptionValue = (v: string) => v.replaceAll(",", ",,");

/** A value inside a FUSE option list (the C virtiofsd's `-o source=…`): backslash-escaped. */
export const fuseOptionValue = (v: string) => v.replaceAll("\\", "\\\\").replaceAll(",", "\\,");

/** A field of an fstab line: whitespace and backslashes as octal escapes, as fstab(5) reads them. */
export const fstabField = (v: string) => v.replace(/[\s\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
