/**
 * Soft reboot into a new image (ephemeral VMs): the kernel and the VM stay, the root is
 * swapped. The new image is mounted and served by its own virtiofsd, plugged into a spare
 * PCIe root port over QMP (hotplug.ts), mounted in the guest under the same kind of
 * volatile overlay the initramfs puts over the first root, at /run/nextroot, and
 * `systemctl soft-reboot` switches into it. Once the new root answers SSH, the old root's
 * device, daemon and image mount are released. Anything that stops it before the switch
 * is undone and said in one line; the caller then reboots fully.
 */
import type { ResultPromise } from "execa";
import { unlink } from "node:fs/promises";
import type { EnginePaths, VmPaths } from "../../core/paths.js";
import type { VmRecord } from "../../core/record.js";
import { isRootless, type PodmanNamespace } from "../../host/userns.js";
import { mountImage, readGuestFacts, unmountImage, type ImageRoot } from "../../images/rootfs.js";
import { exportedRoot } from "../../images/remote-root.js";
import { shellQuote } from "../../provision/firstboot.js";
import { sshExec } from "../../ssh/exec.js";
import { ROOT_PORTS } from "./boot-plan.js";
import { freePort, plugCommands, removeChardevCommand, unplugCommand, type PluggedShare } from "./hotplug.js";
import type { Qmp } from "./qmp.js";
import type { RecordLog } from "./record-log.js";
import { startShareDaemons } from "./shares.js";
import { bootIdentity, softRebootBlocker } from "./soft-reboot-plan.js";

/** The image the guest's root comes from, and everything on the host that serves it. */
export interface RootShare {
  imageId: string;
  image: string;
  /** Where the monitor reads the mounted image. */
  view: string;
  userns?: PodmanNamespace;
  /** The root of another podman's image, exported into the local cache: no mount of this monitor's to undo (it stays cached). */
  exported?: boolean;
  /** Its virtiofsd; `released` tells its exit apart from a daemon lost under the guest. */
  daemon?: ResultPromise;
  released?: boolean;
  share: PluggedShare;
}

/** What the soft reboot needs of the monitor. */
export interface SoftRebootHost {
  record: () => VmRecord;
  /** Where the cache is: the next root of another podman's image is exported into it. */
  paths: EnginePaths;
  log: RecordLog;
  vp: VmPaths;
  qmp: () => Qmp | undefined;
  /** Every root the VM has now: the current one last (two while switching, or when an old one would not go). */
  roots: RootShare[];
  sshReady: () => boolean;
  /** A line for every console viewer and the serial log. */
  consoleNote: (line: string) => void;
  daemonStarted: (child: ResultPromise) => void;
  /** The daemon serving `root` ended on its own: the guest lost that root when it is the current one. */
  onLost: (root: RootShare, how: string) => void;
  /** The guest is switching: the VM is running, not ssh-ready. */
  switched: () => void;
  /** Waits for the new root's SSH (the monitor's own readiness wait); true once it answered. */
  waitForSsh: () => Promise<boolean>;
  /** Whether the VM is being stopped (then nothing starts). */
  ending: () => boolean;
}

export type SoftRebootOutcome = { soft: true } | { soft: false; why: string };

/**
 * Run in the guest as root with the new root's tag as $1: the same layering as
 * systemd-volatile-root in the initramfs (a tmpfs upper over the read-only virtiofs lower).
 * The layer's own mounts are detached once the overlay holds them, so nothing of them
 * shows in the new root's mount table. sshd stops last, so that the first SSH answer after
 * this is the new root's.
 */
const GUEST_SWITCH = [
  "set -eu",
  'tag=$1; layer=$(mktemp -d /run/bootc-nextroot.XXXXXX); trap \'umount -l "$layer/lower" "$layer" 2>/dev/null; rmdir "$layer"\' EXIT',
  'mount -t tmpfs -o mode=0755 tmpfs "$layer"',
  'mkdir "$layer/lower" "$layer/upper" "$layer/work"',
  // The hot-plugged device takes the guest a moment to probe.
  'i=0; until mount -t virtiofs -o ro "$tag" "$layer/lower" 2>/dev/null; do i=$((i+1)); [ $i -lt 300 ] || { echo "the new root\'s device (virtiofs tag $tag) did not appear in the guest" >&2; exit 1; }; sleep 0.1; done',
  "mountpoint -q /run/nextroot && umount -l /run/nextroot; mkdir -p /run/nextroot",
  'mount -t overlay overlay -o "lowerdir=$layer/lower,upperdir=$layer/upper,workdir=$layer/work" /run/nextroot',
  'test -x /run/nextroot/usr/lib/systemd/systemd || { umount -l /run/nextroot; echo "the new image has no /usr/lib/systemd/systemd" >&2; exit 1; }',
  // One systemctl for all four names (each run costs the guest a few tenths of a second under
  // TCG); it stops those that exist and fails only on the names the image lacks.
  "systemctl stop ssh.socket sshd.socket ssh.service sshd.service 2>/dev/null || true",
  "systemctl --no-block soft-reboot",
].join("\n");

const asRoot = (user: string, script: string, args: string[]) =>
  `${user === "root" ? "" : "sudo -n "}sh -c ${shellQuote(script)} sh ${args.map(shellQuote).join(" ")}`;

const shortDigest = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

/** The console line that marks the switch (consoles show it between the two boots' output). */
export const softRebootLine = (image: string, imageId: string) => `── soft reboot into ${image}@${shortDigest(imageId)} ──`;

export class SoftReboot {
  private generation = 0;
  private busy = false;

  constructor(private readonly h: SoftRebootHost) {}

  /**
   * The monitor's "soft-reboot" op: switch, then wait for the new root's SSH and release
   * the old root, so the image it came from is free to remove when this returns.
   */
  async request(image: { ref: string; id: string }, timelinePrefix: Array<{ event: string; at: string }>): Promise<SoftRebootOutcome> {
    if (this.busy) return { soft: false, why: "another soft reboot is under way" };
    if (this.h.ending()) return { soft: false, why: "the VM is stopping" };
    this.busy = true;
    try {
      const out = await this.run(image, timelinePrefix);
      if (!out.soft) {
        this.h.log.broadcast({ type: "warning", message: `soft reboot not possible (${out.why}): rebooting fully` });
        return out;
      }
      this.h.switched();
      if (await this.h.waitForSsh()) {
        for (const message of await this.releaseOld()) this.h.log.broadcast({ type: "warning", message });
        this.h.log.mark("old-root-released");
      }
      return out;
    } finally {
      this.busy = false;
    }
  }

  /** Tries to switch the guest's root to `image`; on any failure before the switch, undoes what it did and says why. */
  async run(image: { ref: string; id: string }, timelinePrefix: Array<{ event: string; at: string }>): Promise<SoftRebootOutcome> {
    const h = this.h;
    const current = h.roots.at(-1);
    const port = freePort(
      ROOT_PORTS,
      h.roots.map((r) => r.share),
    );
    const record = h.record();
    const qmp = h.qmp();
    const cheap = softRebootBlocker({
      mode: record.mode,
      guestSystemd: record.guestSystemd,
      sshReady: h.sshReady(),
      freePort: !!port && !!current && !!qmp,
    });
    if (cheap || !current || !port || !qmp) return { soft: false, why: cheap ?? "the VM's root cannot be swapped" };
    const gen = ++this.generation;
    const next: RootShare = {
      imageId: image.id,
      image: image.ref,
      view: "",
      share: { chardev: `root${gen}`, device: `vroot${gen}`, bus: port, tag: `root${gen}` },
    };
    let mounted = false;
    let chardev = false;
    let plugged = false;
    const undo = async () => {
      if (plugged) await this.unplug(next);
      else if (chardev) await qmp.run(removeChardevCommand(next.share)).catch(() => undefined);
      next.released = true;
      next.daemon?.kill("SIGTERM");
      await next.daemon?.catch(() => undefined);
      if (mounted) {
        if (!next.exported) await unmountImage(next.imageId);
        h.roots.splice(h.roots.indexOf(next), 1);
        this.mountsChanged();
      }
    };
    try {
      const root = await this.nextRoot(record, image);
      Object.assign(next, { view: root.view, userns: root.userns, exported: !!record.podman });
      h.roots.splice(h.roots.length - 1, 0, next); // not current yet
      mounted = true;
      this.mountsChanged();
      const [was, will] = await Promise.all([
        readGuestFacts(current.view, current.image).then(bootIdentity),
        readGuestFacts(root.view, image.ref).then(bootIdentity),
      ]);
      const why = softRebootBlocker({ mode: "ephemeral", guestSystemd: record.guestSystemd, sshReady: true, freePort: true, current: was, next: will });
      if (why) {
        await undo();
        return { soft: false, why };
      }
      const socket = h.vp.rootSock(gen);
      await startShareDaemons([{ source: root.path, readOnly: true, cache: "always" }], {
        socketOf: () => socket,
        userns: root.userns ?? (isRootless() ? current.userns : undefined),
        started: (child) => {
          next.daemon = child;
          h.daemonStarted(child);
        },
        checkpoint: () => undefined,
        onLost: (_source, how) => next.released || h.onLost(next, how),
      });
      const [addChardev, addDevice] = plugCommands(next.share, socket);
      await qmp.run(addChardev!);
      chardev = true;
      await qmp.run(addDevice!);
      plugged = true;
      const target = { vmName: record.name, port: record.sshPort ?? 0, user: record.sshUser, identity: record.identity, knownHosts: h.vp.knownHosts };
      const r = await sshExec(target, asRoot(record.sshUser, GUEST_SWITCH, [next.share.tag]), { timeoutMs: 120_000 });
      if (r.code !== 0) throw new Error((r.stderr.trim().split("\n").at(-1) ?? "") || `the guest's switch script exited with ${r.code}`);
      h.consoleNote(softRebootLine(image.ref, image.id));
    } catch (e) {
      await undo().catch(() => undefined);
      return { soft: false, why: `a step failed: ${e instanceof Error ? e.message : String(e)}` };
    }
    // Committed: the guest is switching. Its new sshd makes new host keys.
    h.roots.splice(h.roots.indexOf(next), 1);
    h.roots.push(next);
    this.mountsChanged();
    await unlink(h.vp.knownHosts).catch(() => undefined);
    h.log.update({
      image: image.ref,
      imageId: image.id,
      timeline: [...timelinePrefix, { event: "soft-reboot", at: new Date().toISOString() }],
      sshFailed: undefined,
    });
    return { soft: true };
  }

  /** After the new root answered SSH: every older root's device, daemon and image mount go. */
  async releaseOld(): Promise<string[]> {
    const h = this.h;
    const notes: string[] = [];
    for (const old of h.roots.slice(0, -1)) {
      if (!(await this.unplug(old))) {
        notes.push(`the guest did not release the old root's device (${old.share.device}); it stays until the VM stops`);
        continue;
      }
      old.released = true;
      old.daemon?.kill("SIGTERM");
      await old.daemon?.catch(() => undefined);
      if (!old.exported) await unmountImage(old.imageId);
      h.roots.splice(h.roots.indexOf(old), 1);
      this.mountsChanged();
    }
    return notes;
  }

  /**
   * The new image's root: mounted from the local podman, or for a VM of another podman's
   * image, exported from there into the local cache (once per image id, with its progress
   * on the VM's events), as its first boot's root was.
   */
  private async nextRoot(record: VmRecord, image: { ref: string; id: string }): Promise<ImageRoot> {
    if (!record.podman) return mountImage(image.id);
    const { dir } = await exportedRoot(record.podman, { ref: image.ref, id: image.id, sizeBytes: 0 }, this.h.paths, (p) =>
      this.h.log.broadcast({ type: "progress", ...p }),
    );
    return { path: dir, view: dir };
  }

  /** The image mounts this monitor holds are recorded, so a clean-up after a dead monitor undoes each (an exported root is no mount). */
  private mountsChanged(): void {
    this.h.log.update({ mountedImages: this.h.roots.filter((r) => !r.exported).map((r) => r.imageId) });
  }

  /** device_del, and the chardev once the guest has let the device go; false when it did not within the time. */
  private async unplug(root: RootShare): Promise<boolean> {
    const qmp = this.h.qmp();
    if (!qmp) return false;
    const deleted = qmp.waitEvent("DEVICE_DELETED", (d) => d.device === root.share.device, 30_000);
    const asked = await qmp.run(unplugCommand(root.share)).then(
      () => true,
      () => false,
    );
    if (!asked || !(await deleted)) return false;
    await qmp.run(removeChardevCommand(root.share)).catch(() => undefined);
    return true;
  }
}
