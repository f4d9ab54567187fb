/**
 * The engine's input rules, on its bottom floor: every name, user, path, port and kernel
 * argument a caller hands the engine is checked here — whether it came from the CLI, the
 * API or a library caller — and every value that goes into an option string of another
 * program (qemu, virtiofsd, fstab) is escaped here. The API takes these schemas as its
 * input so a form shows the same rule in place; the engine never relies on that. Host paths
 * are absolute: a caller resolves a relative one against its own directory (the CLI does).
 * The VM name rule and the lists of values are in names.ts (re-exported here), which does
 * not load zod: paths and records need them, and building these schemas costs every command.
 */
import path from "node:path";
import * as z from "zod";
import { BootcError } from "./errors.js";
import { CONNECTION_NAME_RE, PODMAN_URL_RE } from "./podman-connection.js";
import { ACCELS, ARCH_NAMES, BUILDERS, CLOUD_INIT_TRANSPORTS, CREDENTIAL_TRANSPORTS, MODES, NAME_RE, NAME_RULE, PULL_POLICIES, validateName } from "./names.js";

export { ACCELS, BUILDERS, CLOUD_INIT_TRANSPORTS, CREDENTIAL_TRANSPORTS, MODES, NAME_RE, PULL_POLICIES, validateName };

// POSIX portable user names (what useradd accepts by default): they go into tmpfiles lines.
export const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
// Control characters (newlines above all) would start a new line in fstab, tmpfiles or a credential.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export const vmNameSchema = z.string().regex(NAME_RE, NAME_RULE);
export const userSchema = z.string().regex(USER_RE, "not a user name: lower-case letters, digits, '_' and '-', starting with a letter or '_'");
export const portSchema = z
  .number({ error: "a port is a number from 1 to 65535" })
  .int("a port is a whole number")
  .min(1, "ports are 1–65535")
  .max(65535, "ports are 1–65535");
const hostPathSchema = z
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

/**
 * Another podman that has the image (core/podman-connection.ts): one of a named connection,
 * podman's default connection, or a URL with an optional SSH key.
 */
export const podmanConnectionSchema = z.union([
  z.strictObject({ connection: z.string().regex(CONNECTION_NAME_RE, "not a podman connection name (podman system connection list shows them)") }),
  z.strictObject({ remote: z.literal(true) }),
  z.strictObject({
    url: z.string().regex(PODMAN_URL_RE, "not a podman URL: ssh://USER@HOST[:PORT]/SOCKET, unix:///SOCKET or tcp://HOST:PORT"),
    identity: absHostPathSchema.optional(),
  }),
]);

/** The size of an image's disk when none is given; a premade disk keeps its own (engine/disk/plan.ts). */
export const DEFAULT_DISK_SIZE = 10 * 1024 ** 3;

/**
 * What a caller may ask for when creating a VM: the one declaration of every VM option,
 * with its rule, default, limits and help text (`.describe`). The API takes this schema as
 * its input, the CLI's flags (server/cli/run-flags.ts) and the boot dialog's defaults and
 * hints (through meta.runOptions, core/option-facts.ts) are derived from it. Help texts
 * name no flag: the CLI and the dialog both show them. Strict: an unknown field is an error.
 */
export const RunOptionsSchema = z.strictObject({
  image: z
    .union([imageRefSchema, z.literal("")])
    .default("")
    .describe("the image to boot; empty with a premade disk"),
  pull: z.enum(PULL_POLICIES).default("missing").describe("when to pull the image first: if it is missing from local storage, always, or never"),
  podman: podmanConnectionSchema
    .optional()
    .describe(
      "the podman that has the image, when it is not the local one: a named podman connection, podman's default connection, or a URL (CONTAINER_HOST's form) with its SSH key; the image is not copied into the local podman (ephemeral mode: its root filesystem is exported once per image into a local cache; disk mode: its base disk is built in that podman by the direct builder and streamed into the local disk cache)",
    ),
  mode: z
    .enum(MODES)
    .default("ephemeral")
    .describe(
      "ephemeral boots the image's own root filesystem and keeps nothing the guest writes; disk gives the VM a persistent disk, its own overlay on a base disk cached per image",
    ),
  builder: z
    .enum(BUILDERS)
    .default("auto")
    .describe(
      "how a disk is made from the image: auto is install if the image has bootc and you are root, else direct; direct makes an ext4 root (mkfs.ext4 -d) that boots the image's kernel, with no loop devices, rootless too; install runs bootc install to-disk in a privileged container, as root",
    ),
  // Not .default(): a premade disk keeps its own size. The JSON Schema's default says what an image gets.
  diskSizeBytes: z
    .number()
    .int()
    .min(64 * 1024 * 1024, "disk sizes start at 64M")
    .max(16 * 1024 ** 4, "disk sizes go up to 16T")
    .optional()
    .meta({ description: "the size of the disk; a premade disk keeps its own size unless this is larger", default: DEFAULT_DISK_SIZE }),
  filesystem: z.enum(["ext4", "xfs", "btrfs"]).default("ext4").describe("the root filesystem of a disk made by bootc install"),
  disk: absHostPathSchema.optional().describe("boot this .qcow2 or .raw disk (UEFI) instead of an image, under an overlay: the file is never written"),
  name: vmNameSchema.optional().describe("the VM's name: up to 40 lower-case letters, digits, '-', '_' and '.'; generated if left out"),
  cpus: z.number().int().min(1, "use 1–64 vCPUs").max(64, "use 1–64 vCPUs").default(2).describe("virtual CPUs"),
  memoryMiB: z
    .number()
    .int()
    .min(256, "use 256 MiB to 1 TiB")
    .max(1024 * 1024, "use 256 MiB to 1 TiB")
    .default(2048)
    .describe("the guest's memory"),
  forwards: z
    .array(z.strictObject({ host: portSchema, guest: portSchema }))
    .max(32, "at most 32 port forwards")
    .default([])
    .describe("forward a host port (on 127.0.0.1) to a guest port"),
  binds: z
    .array(z.strictObject({ host: absHostPathSchema, guest: guestPathSchema, readOnly: z.boolean() }))
    .max(16, "at most 16 shared folders")
    .default([])
    .describe("share a host directory with the guest (virtiofs), mounted at a guest directory, read-write unless read-only"),
  kargs: z
    .array(kargSchema)
    .max(32, "at most 32 kernel arguments")
    .default([])
    .describe("extra kernel arguments, for ephemeral VMs and direct-built disks: a UEFI boot takes its arguments from the disk"),
  user: userSchema
    .default("root")
    .describe("the user to log in as over SSH and on the console; created at boot with a home and sudo rights when the image lacks it"),
  identity: absHostPathSchema
    .optional()
    .describe("a private key to use and inject instead of a new per-VM one; its public key is the .pub beside it, or derived from it"),
  injectUserKey: z
    .boolean()
    .default(false)
    .describe("inject your own key (~/.ssh/id_ed25519, else ~/.ssh/id_rsa) instead of a new per-VM one, so plain ssh -p PORT USER@localhost works too"),
  password: z
    .string()
    .min(1, "the password is empty")
    .max(1024)
    .refine((p) => !CONTROL.test(p), "the password must be printable characters on one line")
    .optional()
    .describe("a password for the user, for the serial console when the image has no sshd; only its hash is kept"),
  autologin: z.boolean().default(false).describe("log the user in on the serial console without a password"),
  kickstart: absHostPathSchema
    .optional()
    .describe(
      "a kickstart whose users, rootpw, sshkey, timezone, keyboard, lang, network --hostname and %post are applied at first boot (guest systemd >= 256); disk layout and packages are refused",
    ),
  cloudInit: z
    .strictObject({
      transport: z.enum(CLOUD_INIT_TRANSPORTS).default("cdrom").describe('cdrom: a "cidata" seed ISO; imds: over HTTP from the host'),
      dir: absHostPathSchema.describe("the NoCloud directory: user-data, meta-data, network-config"),
    })
    .optional()
    .describe('a cloud-init NoCloud directory (user-data, meta-data, network-config), as a "cidata" seed ISO (cdrom) or over HTTP from the host (imds)'),
  credentialTransport: z
    .enum(CREDENTIAL_TRANSPORTS)
    .optional()
    .describe(
      "force how credentials reach the guest, normally chosen by machine; for tests and odd firmware. esp: as files on the EFI system partition of a disk that boots a unified kernel image through UEFI (systemd-stub), for machines without SMBIOS",
    ),
  // Off, the guest's network reaches the outside but not the host itself (runtime/direct/network.ts).
  allowHostLoopback: z
    .boolean()
    .default(false)
    .describe(
      "let the guest reach the host's 127.0.0.1 at 10.0.2.2 (qemu's user network): bootc serve and every local-only service become reachable from the guest; off, the guest's network (passt) reaches the outside but not the host itself",
    ),
  removeOnStop: z.boolean().default(false).describe("remove the VM when it stops"),
  warm: z
    .boolean()
    .default(false)
    .describe(
      "a one-shot (with --rm) that resumes a guest saved just after its boot instead of booting: the first run per image and options boots cold and keeps that state in the disk cache (disk mode)",
    ),
  removeImageOnStop: z.boolean().default(false).describe("remove the VM when it stops, and its image and cached base disks too, unless another VM uses them"),
  replace: z.boolean().default(false).describe("stop and remove a VM of the same name first, once everything else has been checked"),
  accel: z.enum(ACCELS).optional().describe("the accelerator, instead of the detected one"),
  arch: z
    .enum(ARCH_NAMES)
    .optional()
    .describe(
      "the guest's architecture, instead of the image's (its config's Architecture); another than the host's is emulated under TCG, several times slower",
    ),
  readyTimeoutSec: z
    .number()
    .int()
    .min(10, "wait 10 s to 24 h")
    .max(24 * 3600, "wait 10 s to 24 h")
    .default(600)
    .describe("how long to wait for SSH, in seconds; then bootc run exits 1 and the VM runs on for its serial console (with --rm or a command it goes)"),
  connect: z
    .string()
    .max(1024)
    .refine((s) => !CONTROL.test(s), "must not contain control characters")
    .optional()
    .describe(
      "run the VM as a persistent libvirt domain (disk mode) on this connection: a saved host's name, or a URI (qemu:///system on this machine, qemu+ssh://USER@HOST[:PORT]/system on another); empty: bootc's own runtime",
    ),
  autostart: z.boolean().default(false).describe("for a libvirt VM: libvirt starts it when its host boots"),
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
