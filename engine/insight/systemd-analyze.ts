/**
 * Reading what `systemd-analyze` prints in a guest: `time` (the boot's split into firmware,
 * loader, kernel, initrd and userspace), `blame` (each unit's activation time) and
 * `critical-chain` (the units the default target waited for, with when each became active
 * and how long it took). systemd before 254 has no JSON for these, and every guest we boot
 * may be older, so the text is parsed; the fixtures beside the tests are real guests' output.
 */

/** The units systemd's format_timespan() writes, in seconds. */
const UNIT_SECONDS: Record<string, number> = {
  y: 31_557_600,
  month: 2_629_800,
  w: 604_800,
  d: 86_400,
  h: 3_600,
  min: 60,
  s: 1,
  ms: 1e-3,
  us: 1e-6,
  µs: 1e-6,
};
const SPAN_PART = /(\d+(?:\.\d+)?)(y|month|w|d|h|min|ms|us|µs|s)(?![a-z])/g;

/** A systemd time span ("1min 2.345s", "870ms", "5.004s") in seconds; undefined for anything else. */
export function parseTimespan(text: string): number | undefined {
  const s = text.trim();
  if (!s) return undefined;
  let total = 0;
  let consumed = "";
  for (const m of s.matchAll(SPAN_PART)) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
    consumed += m[0];
  }
  // Every character but the spaces between the parts must have been a part.
  return consumed && consumed === s.replace(/\s+/g, "") ? round3(total) : undefined;
}

export interface GuestTimes {
  firmwareSec?: number;
  loaderSec?: number;
  kernelSec?: number;
  initrdSec?: number;
  /** After a soft reboot: the old userspace's stop, up to the switch. */
  softRebootSec?: number;
  userspaceSec: number;
  totalSec: number;
  /** "graphical.target reached after 1.2s in userspace": the default target and when. */
  target?: { name: string; afterSec: number };
}

/**
 * `systemd-analyze time`:
 *   Startup finished in 1.2s (kernel) + 3.4s (initrd) + 20s (userspace) = 24.6s
 *   multi-user.target reached after 19.9s in userspace
 * After a soft reboot systemd (257) prints no total and no kernel:
 *   Startup finished in 14.862s (soft reboot #1) + 1min 2.057s (userspace)
 * which counts the old userspace's stop as "soft reboot" (softRebootSec).
 * Undefined when the boot has not finished ("Bootup is not yet finished …").
 */
export function parseAnalyzeTime(text: string): GuestTimes | undefined {
  const line = text.split("\n").find((l) => l.startsWith("Startup finished in "));
  if (!line) return undefined;
  const [parts, total] = line.slice("Startup finished in ".length).trim().split(" = ");
  const times: Partial<Record<string, number>> = {};
  for (const part of parts!.split(" + ")) {
    const m = /^(.+?) \(([a-z ]+?)(?: #\d+)?\)$/.exec(part.trim());
    const sec = m ? parseTimespan(m[1]!) : undefined;
    if (m && sec !== undefined) times[m[2]!] = sec;
  }
  if (times.userspace === undefined) return undefined;
  const totalSec = total === undefined ? Object.values(times).reduce<number>((a, b) => a + (b ?? 0), 0) : parseTimespan(total);
  if (totalSec === undefined) return undefined;
  const reached = /^(\S+) reached after (.+) in userspace/m.exec(text);
  const afterSec = reached ? parseTimespan(reached[2]!) : undefined;
  return {
    ...(times.firmware !== undefined ? { firmwareSec: times.firmware } : {}),
    ...(times.loader !== undefined ? { loaderSec: times.loader } : {}),
    ...(times.kernel !== undefined ? { kernelSec: times.kernel } : {}),
    ...(times.initrd !== undefined ? { initrdSec: times.initrd } : {}),
    ...(times["soft reboot"] !== undefined ? { softRebootSec: times["soft reboot"] } : {}),
    userspaceSec: times.userspace,
    totalSec,
    ...(reached && afterSec !== undefined ? { target: { name: reached[1]!, afterSec } } : {}),
  };
}

export interface UnitTime {
  name: string;
  seconds: number;
}

/** `systemd-analyze blame`: "  1.234s foo.service" per line, slowest first (as systemd sorts it). */
export function parseBlame(text: string): UnitTime[] {
  const units: UnitTime[] = [];
  for (const line of text.split("\n")) {
    // The unit name is the last word; everything before it is the span (which has spaces: "1min 2s").
    const m = /^\s*(.+?)\s+(\S+)\s*$/.exec(line);
    const seconds = m ? parseTimespan(m[1]!) : undefined;
    if (m && seconds !== undefined) units.push({ name: m[2]!, seconds });
  }
  return units.sort((a, b) => b.seconds - a.seconds);
}

// systemd colours the slow links even without a TTY when SYSTEMD_COLORS is set in the guest.
const ANSI_COLOUR = new RegExp(String.raw`\x1b\[[0-9;]*m`, "g");

export interface ChainLink {
  name: string;
  /** When the unit became active (or started), seconds after userspace began; absent for units active before that. */
  atSec?: number;
  /** How long it took to start; absent for units that start in no time (targets, slices). */
  seconds?: number;
  /** 0 for the default target, 1 for what it waited for, and so on. */
  depth: number;
}

/**
 * `systemd-analyze critical-chain`: the default target first, then what each waited for,
 * one level of indentation each:
 *   graphical.target @19.9s
 *   └─multi-user.target @19.9s
 *     └─ssh.service @17.3s +2.5s
 * The two explanatory lines at the top are skipped.
 */
export function parseCriticalChain(text: string): ChainLink[] {
  const links: ChainLink[] = [];
  for (const raw of text.split("\n")) {
    const m = /^([\s│├└─]*)(\S+)((?:\s+[@+][^@+]+)*)\s*$/.exec(raw.replace(ANSI_COLOUR, ""));
    if (!m || !/\.[a-z]+$/.test(m[2]!) || raw.startsWith("The time")) continue;
    const depth = Math.round(m[1]!.length / 2);
    const at = /@([^@+]+)/.exec(m[3]!);
    const took = /\+([^@+]+)/.exec(m[3]!);
    const atSec = at ? parseTimespan(at[1]!) : undefined;
    const seconds = took ? parseTimespan(took[1]!) : undefined;
    links.push({ name: m[2]!, depth, ...(atSec !== undefined ? { atSec } : {}), ...(seconds !== undefined ? { seconds } : {}) });
  }
  return links;
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
