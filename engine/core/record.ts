/**
 * The per-VM JSON record (state/vms/<name>/vm.json). Written atomically (temp file, then
 * rename) so a reader never sees half a record. While a VM runs, its monitor is the only
 * writer; before that, the command that creates it.
 */
import { readFile } from "node:fs/promises";
import { writePrivateFile } from "./private-file.js";
// zod/mini, not zod: every command reads records, and classic zod's schemas each carry a
// set of bound methods, which made building this schema and the garbage it leaves about a
// third of `bootc list`'s start (docs/benchmarks.md). The checks and messages are the same.
import * as z from "zod/mini";
import { en } from "zod/locales";
import { BootcError } from "./errors.js";
import { vmPaths, type EnginePaths } from "./paths.js";
import { ACCELS, CLOUD_INIT_TRANSPORTS, CREDENTIAL_TRANSPORTS, MODES, UNUSED_Q35_DEVICES } from "./names.js";

// Mini has no messages of its own; English ones, as classic zod sets on import (same global config).
z.config(en());

export const VM_STATES = ["creating", "booting", "running", "ssh-ready", "stopping", "stopped", "failed"] as const;
export type VmState = (typeof VM_STATES)[number];

/** States in which a live monitor is expected. */
export const ACTIVE_STATES: readonly VmState[] = ["creating", "booting", "running", "ssh-ready", "stopping"];

export const PortForwardSchema = z.object({ host: z.int().check(z.minimum(1), z.maximum(65535)), guest: z.int().check(z.minimum(1), z.maximum(65535)) });
export const BindSchema = z.object({ host: z.string(), guest: z.string(), readOnly: z.boolean() });

export const VmDiskSchema = z.object({
  /** direct: mkfs.ext4 -d + the image's kernel; install: bootc install to-disk + UEFI; premade: the user's file + UEFI. */
  builder: z.enum(["direct", "install", "premade"]),
  sizeBytes: z.int(),
  filesystem: z.string(),
  /** The cache key of the base disk the overlay sits on (set at the first boot). */
  base: z.optional(z.string()),
  /** --disk: the user's disk file (never written) and its format. */
  premade: z.optional(z.string()),
  premadeFormat: z.optional(z.enum(["raw", "qcow2"])),
});
export type VmDisk = z.infer<typeof VmDiskSchema>;

export const TimelineEntrySchema = z.object({ event: z.string(), at: z.string() });

/** What describes a VM: the same for every boot of it (only a rebuild changes its image). */
export const VmSpecSchema = z.object({
  version: z.literal(1),
  name: z.string(),
  image: z.string(),
  imageId: z.string(),
  mode: z.enum(MODES),
  /** Disk mode: how the base disk is made and which one the VM's overlay uses. */
  disk: z.optional(VmDiskSchema),
  createdAt: z.string(),
  cpus: z.int(),
  memoryMiB: z.int(),
  accel: z.enum(ACCELS),
  accelReason: z.string(),
  /** The guest's architecture (qemu's name) when it is not the host's: emulated under TCG. */
  arch: z.optional(z.enum(["x86_64", "aarch64"])),
  sshUser: z.string(),
  sshPort: z.optional(z.int()),
  identity: z.string(),
  generatedKey: z.boolean(),
  /** --password was given: its hash is in the VM's password.hash file. */
  passwordSet: z.optional(z.boolean()),
  autologin: z.optional(z.boolean()),
  /** --ks: the file given (a copy made at \`run\` is what boots). */
  kickstart: z.optional(z.string()),
  /** --cloudinit: how, and the directory given (a copy made at \`run\` is what boots). */
  cloudInit: z.optional(z.object({ transport: z.enum(CLOUD_INIT_TRANSPORTS), dir: z.string() })),
  /** A forced credential transport (credentialsVia is the one the last boot used). */
  credentialTransport: z.optional(z.enum(CREDENTIAL_TRANSPORTS)),
  forwards: z.array(PortForwardSchema),
  /** --allow-host-loopback: the guest may reach the host's 127.0.0.1 (otherwise it cannot). */
  allowHostLoopback: z.optional(z.boolean()),
  binds: z.array(BindSchema),
  kargs: z.array(z.string()),
  removeOnStop: z.boolean(),
  /** --rmi: with the VM, also remove its image and cached base disks (if no other VM uses them). */
  removeImageOnStop: z.optional(z.boolean()),
  /** The Containerfile directory the image was built from by bootc (its source label), if any. */
  source: z.optional(z.string()),
  /** The podman the image came from, when not the local one (core/podman-connection.ts). */
  podman: z.optional(
    z.union([z.object({ connection: z.string() }), z.object({ remote: z.literal(true) }), z.object({ url: z.string(), identity: z.optional(z.string()) })]),
  ),
  readyTimeoutSec: z.int(),
  /**
   * q35's devices this VM boots without, for its whole life (x86_64, bootc's own runtime):
   * fixed when it is made, since a memory snapshot loads only into the devices it was saved
   * with. Absent (a VM made before bootc turned them off): all of them, as then.
   */
  q35DevicesOff: z.optional(z.array(z.enum(UNUSED_Q35_DEVICES))),
  /** A libvirt VM: the connection URI of its host, the host's saved name, and whether libvirt starts it with the host. */
  connection: z.optional(z.string()),
  hostName: z.optional(z.string()),
  autostart: z.optional(z.boolean()),
});

/** What one boot of it did: made anew by every start, so no field is reset by hand. */
export const VmBootSchema = z.object({
  /** The credential transport this boot used. */
  credentialsVia: z.optional(z.enum(CREDENTIAL_TRANSPORTS)),
  state: z.enum(VM_STATES),
  monitorPid: z.optional(z.int()),
  /** The start identity of monitorPid (engine/proc.ts): a pid is signalled only while this still matches. */
  monitorStartId: z.optional(z.string()),
  qemuPid: z.optional(z.int()),
  qemuStartId: z.optional(z.string()),
  startedAt: z.optional(z.string()),
  stoppedAt: z.optional(z.string()),
  /** Why the VM stopped or failed, in words a user understands. */
  reason: z.optional(z.string()),
  /**
   * SSH did not answer within the ready timeout (says so in words): the VM runs on without
   * it, reached on its serial console, until SSH answers after all (then ssh-ready) or it stops.
   */
  sshFailed: z.optional(z.string()),
  /** The guest shut itself down cleanly, nothing asked it to: a boot that ended as it meant to (systemctl poweroff, poweroff.target). */
  guestPoweredOff: z.optional(z.boolean()),
  /** Stopped in order to boot again at once (restart, rebuild): console viewers wait for the new boot. */
  rebooting: z.optional(z.boolean()),
  exitCode: z.optional(z.nullable(z.int())),
  exitSignal: z.optional(z.nullable(z.string())),
  qemuArgs: z.optional(z.array(z.string())),
  /** This boot resumes the guest from the memory snapshot of that tag instead of booting (runtime/direct/snapshots.ts); cleared once it has. */
  restoreSnapshot: z.optional(z.string()),
  /**
   * Ephemeral mode: the images this boot's monitor holds mounted, the current root last
   * (two while a soft reboot switches roots): a clean-up after a dead monitor unmounts each.
   */
  mountedImages: z.optional(z.array(z.string())),
  kernel: z.optional(z.string()),
  guestSystemd: z.optional(z.int()),
  warnings: z.array(z.string()),
  /**
   * Boot phases with timestamps: [build-started, build-finished, previous-boot-stopped] for a
   * rebuild, then created, image-mounted (ephemeral; image-root-exported or image-root-cached for an image of another podman) or disk-built / disk-reused (disk mode),
   * virtiofsd-ready, qemu-started, first-serial-byte, kernel-to-userspace, ssh-ready, and
   * the final state.
   */
  timeline: z.array(TimelineEntrySchema),
});

export const VmRecordSchema = z.extend(VmSpecSchema, VmBootSchema.shape);
export type VmRecord = z.infer<typeof VmRecordSchema>;
export type VmSpec = z.infer<typeof VmSpecSchema>;

const SPEC_KEYS = Object.keys(VmSpecSchema.shape) as Array<keyof VmSpec>;

/** The spec part of a record (or of a VmInfo): what the next boot starts from. */
export function specOf(r: VmSpec): VmSpec {
  return Object.fromEntries(SPEC_KEYS.filter((k) => r[k] !== undefined).map((k) => [k, r[k]])) as VmSpec;
}

/** A new boot of a VM: its spec, state "creating", and a timeline that starts now (after `prefix`). */
export function newBoot(spec: VmSpec, prefix: Array<{ event: string; at: string }> = []): VmRecord {
  return { ...specOf(spec), state: "creating", warnings: [], timeline: [...prefix, { event: "created", at: new Date().toISOString() }] };
}

export async function writeRecord(record: VmRecord, paths?: EnginePaths): Promise<void> {
  await writePrivateFile(vmPaths(record.name, paths).record, JSON.stringify(record, null, 2) + "\n");
}

export async function readRecord(name: string, paths?: EnginePaths): Promise<VmRecord> {
  const file = vmPaths(name, paths).record; // refuses a name that is not a VM name
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
  }
  const broken = (why: string) =>
    new BootcError(
      "VM_BROKEN",
      `the record of VM "${name}" (vm.json) is damaged: ${why}`,
      `nothing can be done with it but removing it: bootc rm --force ${name}`,
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw broken("it is not JSON");
  }
  const parsed = VmRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw broken(`${issue.path.join(".") || "the record"} ${issue.message.toLowerCase()}`);
  }
  if (parsed.data.name !== name) throw broken(`it names another VM ("${parsed.data.name}")`);
  return parsed.data;
}
