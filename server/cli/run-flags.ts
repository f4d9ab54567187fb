/**
 * How the command line spells the run options (`bootc run`, and the few `bootc test` takes).
 * An option's rule, default, limits, allowed values and help text are the engine's schema's
 * (engine/core/schema.ts); this table adds only what is the command line's own: the flag,
 * its placeholder, how its text becomes the option's value, and words about the flag
 * itself. Its type makes a schema option without an entry a compile error; parseArgs'
 * options, the flag lines of --help (and so shell completion) and the conversion back to
 * run options are all made from it.
 */
import path from "node:path";
import type { ParseArgsConfig } from "node:util";
import { BootcError } from "../../engine/core/errors.js";
import { runOptionFacts, type OptionFacts } from "../../engine/core/option-facts.js";
import { parseBind, parseCloudInit, parseMemory, parsePortForward, parseSize } from "../../engine/core/options.js";
import { RunOptionsSchema, validateName, type RunOptions } from "../../engine/core/schema.js";
import { int, oneOf } from "./output.js";

export interface Flag {
  flag: string;
  short?: string;
  /** The value's placeholder in --help; by default an enum's values joined by |, else VALUE. */
  arg?: string;
  /** The flag's text → the option's value (one item, for a list); by default by the schema's type. */
  parse?: (text: string) => unknown;
  /** How --help writes the default (2048 MiB as 2G). */
  show?: (value: never) => string;
  /** Words about the flag, after the schema's help text. */
  note?: string;
  /** Left out of --help. */
  hidden?: boolean;
  /** Other flags that give this option, which the command reads itself (--password-file). */
  also?: AltFlag[];
}

export interface AltFlag {
  flag: string;
  short?: string;
  /** Present for a flag that takes a value. */
  arg?: string;
  help: string;
  hidden?: boolean;
}

export type RunOptionKey = keyof RunOptions;

const absolute = (text: string) => path.resolve(text);
const MiB = 1024 * 1024;
/** A size in MiB as the size flags take it: 2048 as 2G. */
const size = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`);

/** Every run option: its flag, or "positional" (the image). The order is --help's. */
export const RUN_FLAGS: { [K in RunOptionKey]-?: Flag | "positional" } = {
  image: "positional",
  pull: { flag: "pull" },
  podman: {
    flag: "connection",
    arg: "NAME",
    parse: (name: string) => ({ connection: name }),
    note: "default: env CONTAINER_HOST (with CONTAINER_SSHKEY) if set, as for podman",
    also: [{ flag: "remote", short: "r", help: "the image is in podman's default connection (a podman machine)" }],
  },
  name: { flag: "name", arg: "NAME", parse: validateName },
  replace: { flag: "replace", note: "needs --name" },
  cpus: { flag: "cpus", arg: "N" },
  memoryMiB: { flag: "memory", arg: "SIZE", parse: parseMemory, show: size, note: "e.g. 2G or 1536M" },
  forwards: { flag: "publish", short: "p", arg: "H:G", parse: parsePortForward, note: "repeatable" },
  binds: { flag: "bind", arg: "HOST:GUEST[:ro]", parse: parseBind, note: ":ro for read-only; repeatable" },
  kargs: { flag: "karg", arg: "ARG", note: "repeatable" },
  user: { flag: "user", short: "u", arg: "USER" },
  identity: {
    flag: "ssh-identity",
    arg: "FILE",
    parse: absolute,
    also: [{ flag: "gen-ssh-identity", help: "make a new key pair for this VM and inject it (the default)" }],
  },
  injectUserKey: { flag: "inj-ssh-identity" },
  password: {
    flag: "password",
    arg: "[=VALUE]",
    note: "--password asks for it; --password=VALUE takes it from the command line (visible to ps: avoid)",
    also: [
      { flag: "password-file", arg: "FILE", help: "the password is the first line of FILE" },
      // What a bare --password becomes (password.ts), so that parseArgs accepts it.
      { flag: "password-prompt", help: "", hidden: true },
    ],
  },
  autologin: { flag: "autologin" },
  kickstart: { flag: "ks", arg: "FILE", parse: absolute },
  cloudInit: { flag: "cloudinit", arg: "[cdrom:|imds:]DIR", parse: parseCloudInit },
  credentialTransport: { flag: "credentials-via", hidden: true },
  accel: { flag: "accel", note: "or set BOOTC_ACCEL" },
  arch: { flag: "arch" },
  readyTimeoutSec: { flag: "timeout", arg: "SECONDS" },
  mode: { flag: "mode" },
  builder: { flag: "builder" },
  diskSizeBytes: { flag: "disk-size", arg: "SIZE", parse: parseSize, show: (bytes: number) => size(bytes / MiB), note: "e.g. 20G" },
  filesystem: { flag: "filesystem" },
  disk: { flag: "disk", arg: "FILE", parse: absolute },
  connect: { flag: "connect", arg: "HOST|URI", note: "default: env BOOTC_CONNECT if set" },
  autostart: { flag: "autostart", note: "needs --connect" },
  allowHostLoopback: { flag: "allow-host-loopback" },
  removeOnStop: { flag: "rm" },
  warm: { flag: "warm", note: "see docs/disks.md, Warm starts" },
  removeImageOnStop: { flag: "rmi" },
};

const ALL_KEYS = Object.keys(RUN_FLAGS) as RunOptionKey[];

function flagOf(key: RunOptionKey): Flag | undefined {
  const e = RUN_FLAGS[key];
  return e === "positional" ? undefined : e;
}

/** parseArgs' options for these run options (and their other flags). */
export function runFlagOptions(keys: RunOptionKey[] = ALL_KEYS): NonNullable<ParseArgsConfig["options"]> {
  const facts = runOptionFacts();
  const options: NonNullable<ParseArgsConfig["options"]> = {};
  for (const key of keys) {
    const f = flagOf(key);
    if (!f) continue;
    const type = facts[key].type === "boolean" ? "boolean" : "string";
    options[f.flag] = { type, ...(f.short ? { short: f.short } : {}), ...(facts[key].type === "array" ? { multiple: true } : {}) };
    for (const a of f.also ?? []) options[a.flag] = { type: a.arg === undefined ? "boolean" : "string", ...(a.short ? { short: a.short } : {}) };
  }
  return options;
}

/** A default worth printing: not false, empty or none. */
function defaultText(f: Flag, facts: OptionFacts): string {
  const d = facts.default;
  if (d === undefined || d === false || d === "" || (Array.isArray(d) && !d.length)) return "";
  return ` (default ${f.show ? f.show(d as never) : String(d)})`;
}

function usage(flag: string, short: string | undefined, arg: string | undefined): string {
  const value = arg === undefined ? "" : arg.startsWith("[=") ? arg : ` ${arg}`;
  return `${short ? `-${short}, ` : ""}--${flag}${value}`;
}

/** The --help lines of these run options: [usage, text], for formatOptions; `notes` false leaves out bootc run's words. */
export function runFlagRows(keys: RunOptionKey[] = ALL_KEYS, notes = true): Array<[string, string]> {
  const facts = runOptionFacts();
  const rows: Array<[string, string]> = [];
  for (const key of keys) {
    const f = flagOf(key);
    if (!f || f.hidden) continue;
    const fact = facts[key];
    const arg = fact.type === "boolean" ? undefined : (f.arg ?? fact.values?.join("|") ?? "VALUE");
    rows.push([usage(f.flag, f.short, arg), `${fact.help}${f.note && notes ? `; ${f.note}` : ""}${defaultText(f, fact)}`]);
    for (const a of f.also ?? []) if (!a.hidden) rows.push([usage(a.flag, a.short, a.arg), a.help]);
  }
  return rows;
}

/** Option lines as --help prints them: the text in a column, wrapped. */
export function formatOptions(rows: Array<[string, string]>, width = 90, column = 25): string {
  const wrap = (text: string) => {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
      if (line && line.length + 1 + word.length > width - column) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    return [...lines, line];
  };
  const pad = " ".repeat(column);
  return rows
    .flatMap(([u, text]) => {
      const [first = "", ...rest] = wrap(text);
      const head = u.length + 3 <= column ? [`  ${u.padEnd(column - 2)}${first}`] : [`  ${u}`, pad + first];
      return [...head, ...rest.map((l) => pad + l)];
    })
    .join("\n");
}

export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/** One flag's text as the option's value (an item of it, for a list). */
function parseText(f: Flag, facts: OptionFacts, text: string): unknown {
  if (f.parse) return f.parse(text);
  if (facts.values) return oneOf(f.flag, text, facts.values);
  if (facts.type === "integer") return int(f.flag, text);
  return text;
}

/**
 * The run options these flags give (only those given), each value checked by its schema
 * here, so that an error names the flag the user typed.
 */
export function runOptionsFromFlags(values: FlagValues, keys: RunOptionKey[] = ALL_KEYS): Partial<RunOptions> {
  const facts = runOptionFacts();
  const options: Record<string, unknown> = {};
  for (const key of keys) {
    const f = flagOf(key);
    const given = f && values[f.flag];
    if (!f || given === undefined) continue;
    const texts = ([] as Array<string | boolean>).concat(given);
    const parsed = texts.map((t) => (typeof t === "boolean" ? t : parseText(f, facts[key], t)));
    const value = Array.isArray(given) ? parsed : parsed[0];
    const r = RunOptionsSchema.shape[key].safeParse(value);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      if (Array.isArray(given) && !issue.path.length) throw new BootcError("INVALID_ARGUMENT", `too many --${f.flag}`, issue.message);
      const text = String(texts[typeof issue.path[0] === "number" ? issue.path[0] : 0]);
      if (!Array.isArray(given) && (issue.code === "too_small" || issue.code === "too_big")) {
        throw new BootcError("INVALID_ARGUMENT", `--${f.flag} ${text} is out of range`, issue.message);
      }
      throw new BootcError("INVALID_ARGUMENT", `invalid --${f.flag} ${JSON.stringify(text)}: ${issue.message}`, "see --help");
    }
    options[key] = value;
  }
  return options as Partial<RunOptions>;
}
