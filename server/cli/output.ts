/** Printing for the CLI: errors without stack traces, aligned tables, JSON. */
import { writeSync } from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { BootcError, isBootcError } from "../../engine/core/errors.js";

/** Prints an error the way users should see it and returns the exit code. */
export function printError(e: unknown, json = process.argv.includes("--json")): number {
  if (json) {
    const body = isBootcError(e) ? e.toJSON() : { code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
    console.log(JSON.stringify({ error: body }, null, 2));
  } else if (isBootcError(e)) {
    console.error(`error: ${e.message}`);
    if (e.hint) console.error(`hint: ${e.hint}`);
  } else {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (process.env.BOOTC_DEBUG && e instanceof Error) console.error(e.stack);
  return 1;
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ");
  return [line(headers), ...rows.map(line)].join("\n");
}

export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** printOnce has met a stdout that would block: the rest goes through process.stdout, in order. */
let stdoutWouldBlock = false;

/**
 * Prints a command's whole output, for commands that print nothing else to stdout (list,
 * inspect): straight to fd 1, without starting process.stdout's stream, which cost `bootc
 * list` a few ms of its start (docs/benchmarks.md). As console.log does, a reader that went
 * away (EPIPE) or a closed stdout is no error; a non-blocking stdout that is full (EAGAIN)
 * gets the rest through process.stdout, which waits for it.
 */
export function printOnce(text: string): void {
  const bytes = Buffer.from(text + "\n");
  let done = 0;
  if (!stdoutWouldBlock) {
    try {
      while (done < bytes.length) done += writeSync(1, bytes, done);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return;
      stdoutWouldBlock = true;
      // As console.log: a write error (the reader went away) is not an uncaught 'error' event.
      process.stdout.on("error", () => undefined);
    }
  }
  process.stdout.write(bytes.subarray(done));
}

/**
 * parseArgs with our conventions: strict, `--help` prints the command's help, and parse
 * errors become a typed error that names the wrong option.
 */
export function parseCommand<T extends ParseArgsConfig>(config: T, help: string): ReturnType<typeof parseArgs<T>> {
  const withHelp = { strict: true, ...config, options: { ...config.options, help: { type: "boolean", short: "h" } } } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (e) {
    const usage = help.split("\n")[0]?.replace(/^Usage: /, "") ?? "bootc";
    throw parseError(e as Error & { code?: string }, Object.keys(withHelp.options ?? {}), usage);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    process.exit(0);
  }
  return parsed;
}

/** Edit distance, for "did you mean": small inputs only (option names). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** The real option closest to what was typed, if one is close enough to be what was meant. */
export function closestOption(typed: string, options: string[]): string | undefined {
  const word = typed.replace(/^-+/, "").split("=")[0]!;
  let best: { name: string; d: number } | undefined;
  for (const name of options) {
    const d = name.startsWith(word) && word.length >= 2 ? 0 : distance(word, name);
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? `--${best.name}` : undefined;
}

/** Node's parser errors, in the product's words: what was wrong, and the option that was probably meant. */
export function parseError(e: Error & { code?: string }, options: string[], usage: string): BootcError {
  const quoted = /'([^']+)'/.exec(e.message)?.[1] ?? "";
  const seeHelp = `usage: ${usage} (see --help)`;
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const near = closestOption(quoted, options);
    return new BootcError("INVALID_ARGUMENT", `unknown option ${quoted}`, near ? `did you mean ${near}? ${seeHelp}` : seeHelp);
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const option = quoted.split(" ")[0];
    return new BootcError("INVALID_ARGUMENT", /does not take/.test(e.message) ? `option ${option} takes no value` : `option ${option} needs a value`, seeHelp);
  }
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return new BootcError("INVALID_ARGUMENT", `unexpected argument ${quoted}`, seeHelp);
  return new BootcError("INVALID_ARGUMENT", e.message, seeHelp);
}

/** A flag that takes one of a few words. */
export function oneOf<T extends string>(flag: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new BootcError("INVALID_ARGUMENT", `--${flag} "${v}" is not one of ${allowed.join(", ")}`, "see --help");
  return v as T;
}

/** A flag that takes a whole number. */
export function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new BootcError("INVALID_ARGUMENT", `--${flag} "${v}" is not a whole number`);
  return Number(v);
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * One line of progress on stderr: redrawn in place on a terminal; elsewhere (logs, CI)
 * printed only when its step changes, so the output stays short.
 */
export function progressLine(quiet = false) {
  const tty = process.stderr.isTTY;
  let shown = "";
  let lastStep = "";
  return {
    show(text: string) {
      if (quiet) return;
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else {
        const step = text.replace(/\s+(\[[# ]*\]\s+)?\d+%.*$/, "").replace(/^\s*[\d.]+s\s+/, "");
        if (step !== lastStep) console.error(text);
        lastStep = step;
      }
      shown = text;
    },
    /** Ends the bar (keeping its last text) before printing something else. */
    done(then: () => void = () => undefined) {
      if (shown && tty && !quiet) process.stderr.write("\n");
      shown = "";
      then();
    },
  };
}
