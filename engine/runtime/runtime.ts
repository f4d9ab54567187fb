/**
 * The seam between the engine's facade (vm/manager.ts) and where VMs run. Every runtime —
 * bootc's own (runtime/direct: a monitor process per VM) and libvirt's (runtime/libvirt:
 * persistent domains, here or over SSH) — implements this whole lifecycle; the facade
 * validates, asks the registry (vm/runtimes.ts) which runtime owns a VM, and delegates.
 * A runtime that cannot do something says so in one sentence from `refuse`, before anything
 * is made; nothing above this file asks which runtime it has.
 */
import type { Writable } from "node:stream";
import type { ParsedRunOptions } from "../core/schema.js";
import type { VmRecord } from "../core/record.js";
import type { ConsoleAttachment, VmEvent, VmInfo } from "../core/vm.js";
import type { SshTarget } from "../ssh/exec.js";
import type { SnapshotInfo } from "../disk/snapshot-plan.js";

/** What a snapshot restore did: the guest runs on from the snapshot (memory), or a stopped VM's disk was put back. */
export interface RestoreResult {
  tag: string;
  running: boolean;
}

/** A new VM as the facade hands it over: its record (the spec, state "creating") and the inputs only it may keep. */
export interface CreateRequest {
  record: VmRecord;
  /** The options as the runtime settled them (see settle). */
  opts: ParsedRunOptions;
  /** The SHA-512 crypt hash of --password, if given. */
  passwordHash?: string;
  /** The kickstart's text, if given (translated at each boot). */
  kickstart?: string;
  /** The cloud-init NoCloud directory given (a private copy is what boots). */
  cloudInitDir?: string;
  /**
   * Start from a warm entry (disk/warm-cache.ts) instead of booting: a private copy of its
   * overlay (holding memory snapshot `tag`) and its SSH key become the VM's, and the first
   * start resumes the guest from the snapshot.
   */
  warm?: { dir: string; tag: string };
}

export interface StopOptions {
  /** Skip the graceful ACPI power-down. */
  force?: boolean;
  /** Seconds to wait for the guest to power off before it is killed (default 60). */
  timeoutSec?: number;
  /** The VM is stopped to boot again at once (restart, rebuild): viewers wait for it. */
  reboot?: boolean;
}

export interface RebootOptions {
  /** Boot this image instead (a rebuild: same name, ports, shares and key). */
  image?: { ref: string; id: string };
  /** Opens the new boot's timeline (a rebuild's build times). */
  timelinePrefix?: Array<{ event: string; at: string }>;
  /** One line a user should read: why a faster way (a soft reboot) was not taken. */
  onWarning?: (message: string) => void;
}

export interface Listing {
  vms: VmInfo[];
  /** Hosts that did not answer (libvirt over SSH): named, never fatal to a listing. */
  unreachable: Array<{ host: string; reason: string }>;
}

export interface VmRuntime {
  /** Whether this runtime runs a VM of that name now (cheap: the facade asks it for every verb). */
  has(name: string): Promise<boolean>;
  /**
   * Settles the options for this runtime before anything is made: throws, in one sentence,
   * for what it cannot do, and fills in what it chooses (libvirt: the direct disk builder).
   */
  settle(opts: ParsedRunOptions): Promise<ParsedRunOptions>;
  /** Makes the VM and starts its first boot; returns once the boot is under way (see waitFor). */
  create(req: CreateRequest): Promise<VmRecord>;
  /** Boots a stopped (or failed) VM again; `timelinePrefix` opens the new boot's timeline (a rebuild's build times). */
  start(name: string, opts?: { timelinePrefix?: Array<{ event: string; at: string }> }): Promise<VmRecord>;
  /** Ends the boot: graceful first unless forced, killed after the timeout; returns once it has ended. */
  stop(name: string, opts: StopOptions): Promise<VmInfo>;
  /** Removes the VM and everything it owns here (a running one only with force). */
  remove(name: string, opts: { force?: boolean }): Promise<void>;
  get(name: string): Promise<VmInfo>;
  list(): Promise<Listing>;
  /**
   * Ends the current boot (if any) and boots again with the same options — into another
   * image when `image` is given (a rebuild: same name, ports, shares and key). A runtime
   * that cannot swap the image says so before it stops anything. A runtime may keep the
   * kernel and swap only the root (the direct runtime's soft reboot: the new boot's
   * timeline then starts with "soft-reboot", and it returns once that boot answers SSH);
   * when it cannot, it says why through `onWarning` and reboots fully.
   */
  reboot(name: string, o?: RebootOptions): Promise<VmRecord>;
  /**
   * Follows the boot until the VM reaches `target` ("ssh-ready": SSH answered, or the guest
   * runs and has no sshd; "running": the guest runs). Rejects with BOOT_FAILED and why it
   * did not boot, GUEST_POWERED_OFF when the guest shut itself down cleanly (not a failure
   * for a boot-and-power-off check), or BOOT_TIMEOUT when SSH never answered — the VM then
   * runs on for its serial console. A rejection because the VM ended comes once nothing of it
   * runs any more (waited for up to 15 s).
   */
  waitFor(name: string, target: "running" | "ssh-ready", onEvent: (e: VmEvent) => void): Promise<VmInfo>;
  /** Follows a VM's events: a snapshot first, then what happens, until it ends or `close`. */
  events(name: string, onEvent: (e: VmEvent) => void): Promise<{ close: () => void; closed: Promise<void> }>;
  /** How SSH reaches the guest now (port, key, pinned host key, a stream through the host if remote). */
  sshTarget(name: string): Promise<SshTarget>;
  /** The OpenSSH command line that reaches the guest; `remote` is the command for its shell. */
  sshCommand(name: string, remote: string | undefined, tty?: boolean): Promise<{ file: string; args: string[] }>;
  console(name: string): Promise<ConsoleAttachment>;
  /** The last `maxBytes` of the serial log (kept after the VM stops) or of the runtime's own log. */
  readLog(name: string, which: "serial" | "monitor", maxBytes: number): Promise<{ text: string; truncated: boolean }>;
  /** Writes the serial log so far, then what the guest prints while the VM runs (like tail -f). */
  followLog(name: string, out: Writable, signal?: AbortSignal): Promise<void>;
  /**
   * Named snapshots (docs/disks.md, "Snapshots"). A running VM's hold its memory too; a
   * restore of one resumes the guest without a boot. A runtime or VM that cannot have
   * them says why in one sentence; `tag` is checked by the facade (disk/snapshot-plan.ts).
   */
  listSnapshots(name: string): Promise<SnapshotInfo[]>;
  createSnapshot(name: string, tag: string): Promise<SnapshotInfo>;
  restoreSnapshot(name: string, tag: string): Promise<RestoreResult>;
  removeSnapshot(name: string, tag: string): Promise<void>;
  /** Copies a stopped VM's disk state (its overlay with its snapshots) and SSH key into `dir`, to make a warm entry of. */
  exportWarm(name: string, dir: string): Promise<void>;
}
