/**
 * `bootc inspect NAME --boot` in a terminal: a boot's phases as a timeline (each bar starts
 * where the phase began), the slowest units as bars, the critical chain, and a comparison
 * with another boot, largest change first. Pure functions of the reports, so they are
 * tested as text; colour only when asked (a TTY without NO_COLOR).
 */
import type { BootComparison, Change } from "../../engine/insight/compare.js";
import type { BootReport } from "../../engine/insight/report.js";

const BAR_COLUMNS = 40;
const PALETTE = [36, 33, 35, 32, 34, 31, 96, 93];
const SLOWEST_UNITS = 12;

export interface ChartStyle {
  colour: boolean;
}

export const seconds = (s: number) => `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
export const signed = (s: number) => `${s < 0 ? "-" : "+"}${seconds(Math.abs(s))}`;

/** A bar of `value` on a scale where `full` fills BAR_COLUMNS, in eighths of a column; never empty for a value above zero. */
function bar(value: number, full: number): string {
  const eighths = full > 0 ? Math.round((value / full) * BAR_COLUMNS * 8) : 0;
  const partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]!;
  const drawn = "█".repeat(Math.floor(eighths / 8)) + partial;
  return drawn || (value > 0 ? "▏" : "");
}

const paint = (style: ChartStyle, code: number, text: string) => (style.colour && text ? `\u001b[${code}m${text}\u001b[0m` : text);
const bold = (style: ChartStyle, text: string) => paint(style, 1, text);

const shortId = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

/** The report as a chart. */
export function renderBootReport(r: BootReport, style: ChartStyle): string {
  const out: string[] = [];
  out.push(
    bold(
      style,
      `${r.vm}: ${seconds(r.totalSeconds)} from ${r.from === "soft-reboot" ? "the soft reboot" : "created"} to ${r.phases.at(-1)?.until === "ssh-ready" ? "SSH ready" : "the last mark so far"}`,
    ),
  );
  out.push(`boot of ${r.bootId}, image ${r.image} (${shortId(r.imageId)})${r.buildSeconds !== undefined ? `, after a ${seconds(r.buildSeconds)} build` : ""}`);
  out.push("", bold(style, "Phases"));
  const nameWidth = Math.max(...r.phases.map((p) => p.name.length), 5);
  r.phases.forEach((p, i) => {
    const offset = " ".repeat(Math.round((p.startSeconds / (r.totalSeconds || 1)) * BAR_COLUMNS));
    out.push(
      `  ${p.name.padEnd(nameWidth)} ${seconds(p.seconds).padStart(9)}  ${offset}${paint(style, PALETTE[i % PALETTE.length]!, bar(p.seconds, r.totalSeconds))}`,
    );
  });
  if (r.guest) {
    const g = r.guest;
    const parts = [
      ["firmware", g.firmwareSec],
      ["loader", g.loaderSec],
      ["kernel", g.kernelSec],
      ["initrd", g.initrdSec],
      ["userspace", g.userspaceSec],
    ].filter((x): x is [string, number] => x[1] !== undefined);
    out.push(
      "",
      `guest (systemd-analyze): ${parts.map(([n, s]) => `${seconds(s)} ${n}`).join(" + ")} = ${seconds(g.totalSec)}` +
        (g.target ? `; ${g.target.name} after ${seconds(g.target.afterSec)} in userspace` : ""),
    );
  }
  if (r.units.length) {
    out.push("", bold(style, `Slowest units (of ${r.units.length})`));
    const shown = r.units.slice(0, SLOWEST_UNITS);
    for (const u of shown)
      out.push(`  ${seconds(u.seconds).padStart(9)}  ${paint(style, 33, bar(u.seconds, shown[0]!.seconds).padEnd(BAR_COLUMNS))}  ${u.name}`);
  }
  if (r.criticalChain.length) {
    out.push("", bold(style, "Critical chain (when each became active, + how long it took)"));
    for (const l of r.criticalChain) {
      const at = l.atSec !== undefined ? ` @${seconds(l.atSec)}` : "";
      const took = l.seconds !== undefined ? paint(style, 31, ` +${seconds(l.seconds)}`) : "";
      out.push(`  ${"  ".repeat(l.depth)}${l.depth ? "└─" : ""}${l.name}${at}${took}`);
    }
  }
  if (r.note) out.push("", `note: ${r.note}`);
  return out.join("\n");
}

function changeLine(c: Change, width: number, scale: number, style: ChartStyle): string {
  const what = c.kind === "added" ? "new" : c.kind === "removed" ? "gone" : `${seconds(c.before!)} → ${seconds(c.after!)}`;
  const colour = c.delta > 0 ? 31 : 32;
  return `  ${c.name.padEnd(width)}  ${what.padEnd(19)} ${paint(style, colour, signed(c.delta).padStart(10))}  ${paint(style, colour, bar(Math.abs(c.delta), scale))}`;
}

/** A comparison: what moved between the two boots and by how much, largest first. */
export function renderComparison(c: BootComparison, style: ChartStyle, o: { limit?: number } = {}): string {
  const limit = o.limit ?? 15;
  const side = (s: BootComparison["before"]) => `${s.vm}'s boot of ${s.bootId} (image ${shortId(s.imageId)}, ${seconds(s.totalSeconds)})`;
  const out = [bold(style, `${side(c.after)}`), `  compared with ${side(c.before)}: ${signed(c.totalDelta)} to the end of the boot`];
  const section = (title: string, changes: Change[]) => {
    out.push("", bold(style, title));
    if (!changes.length) return void out.push("  nothing moved");
    const shown = changes.slice(0, limit);
    const width = Math.max(...shown.map((x) => x.name.length));
    const scale = Math.max(...shown.map((x) => Math.abs(x.delta)));
    for (const x of shown) out.push(changeLine(x, width, scale, style));
    if (changes.length > limit) out.push(`  … and ${changes.length - limit} more (--json lists them all)`);
  };
  if (c.unitsMissing) out.push("", bold(style, "Units"), `  not compared: ${c.unitsMissing}`);
  else {
    section("Units (new and gone first, then by how much they moved)", c.units);
    if (c.unitsNote) out.push(`  (${c.unitsNote})`);
  }
  section("Phases", c.phases);
  return out.join("\n");
}
