/**
 * A boot's host-side phases from the VM's timeline: each mark ends a phase that began at the
 * mark before it, so the phases are in order, touch, and add up to the time from `created`
 * to the last mark (SSH ready). The host cannot see inside the guest's boot once the first
 * serial byte is out (under TCG the console is quiet), so that stretch is split with the
 * guest's own figures (systemd-analyze time): kernel, initramfs, then userspace to SSH.
 */
import type { GuestTimes } from "./systemd-analyze.js";

export interface Phase {
  /** A word a user reads ("firmware", "userspace to SSH"). */
  name: string;
  /** The timeline mark that ends it ("first-serial-byte"), or "guest" for a split made from the guest's figures. */
  until: string;
  startSeconds: number;
  seconds: number;
}

/** What a mark means as the end of a phase; marks not named here keep their own name. */
const PHASE_OF: Record<string, string> = {
  "image-mounted": "image mount",
  "disk-built": "disk build",
  "disk-reused": "disk (cached)",
  "disk-ready": "disk",
  "base-volume-uploaded": "base volume upload",
  "base-volume-reused": "base volume (cached)",
  "virtiofsd-ready": "virtiofsd",
  "qemu-started": "qemu start",
  "domain-started": "domain start",
  "first-serial-byte": "firmware",
  "kernel-to-userspace": "kernel",
  "ssh-ready": "userspace to SSH",
};

/** Marks that end no phase: a boot's end (the monitor marks the state it ends in) and SSH giving up. */
const NOT_PHASES = new Set(["ssh-timeout", "stopping", "stopped", "failed"]);

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The phases of one boot. `timeline` is the record's (a rebuild's build marks before
 * `created` are not boot time: see buildSeconds); `guest` splits the stretch after the
 * firmware when known.
 */
export function phasesOf(timeline: Array<{ event: string; at: string }>, guest?: GuestTimes): { phases: Phase[]; totalSeconds: number } {
  // A soft reboot (runtime/direct/soft-reboot.ts) starts at its switch: no firmware, no kernel, no initramfs.
  const soft = !timeline.some((t) => t.event === "created");
  const start = timeline.findIndex((t) => t.event === (soft ? "soft-reboot" : "created"));
  if (start < 0) return { phases: [], totalSeconds: 0 };
  const t0 = Date.parse(timeline[start]!.at);
  const end = timeline.findIndex((t, i) => i > start && t.event === "ssh-ready");
  const marks = timeline.slice(start + 1, end < 0 ? undefined : end + 1).filter((t) => !NOT_PHASES.has(t.event));
  const phases: Phase[] = [];
  let prev = 0;
  for (const m of marks) {
    const at = Math.max(prev, (Date.parse(m.at) - t0) / 1000);
    phases.push({ name: PHASE_OF[m.event] ?? m.event.replaceAll("-", " "), until: m.event, startSeconds: round3(prev), seconds: round3(at - prev) });
    prev = at;
  }
  const split = guest && !soft ? splitGuestBoot(phases, guest) : phases;
  return { phases: split, totalSeconds: round3(prev) };
}

/**
 * The phase after the firmware (to SSH ready, or to "Run /init" when the console printed
 * it) is split by the guest's own kernel and initrd times, each at most what is left.
 */
function splitGuestBoot(phases: Phase[], guest: GuestTimes): Phase[] {
  const out: Phase[] = [];
  for (const p of phases) {
    if (p.until !== "ssh-ready" && p.until !== "kernel-to-userspace") {
      out.push(p);
      continue;
    }
    const hostKernel = phases.some((q) => q.until === "kernel-to-userspace");
    const parts: Array<[string, number | undefined]> =
      p.until === "kernel-to-userspace"
        ? [] // the host saw the kernel's end itself
        : hostKernel
          ? [["initramfs", guest.initrdSec]]
          : [
              ["kernel", guest.kernelSec],
              ["initramfs", guest.initrdSec],
            ];
    let at = p.startSeconds;
    let left = p.seconds;
    for (const [name, sec] of parts) {
      if (sec === undefined) continue;
      const took = round3(Math.min(sec, left));
      out.push({ name, until: "guest", startSeconds: round3(at), seconds: took });
      at += took;
      left -= took;
    }
    out.push({ ...p, startSeconds: round3(at), seconds: round3(Math.max(0, p.startSeconds + p.seconds - at)) });
  }
  return out;
}

/** A rebuild's image build (its marks open the timeline, before `created`), in seconds. */
export function buildSeconds(timeline: Array<{ event: string; at: string }>): number | undefined {
  const started = timeline.find((t) => t.event === "build-started");
  const finished = timeline.find((t) => t.event === "build-finished");
  return started && finished ? round3((Date.parse(finished.at) - Date.parse(started.at)) / 1000) : undefined;
}
