/**
 * A parser for the kickstart grammar (pykickstart's, as Anaconda reads it): commands one
 * per line, words split like a POSIX shell splits them (single and double quotes,
 * backslash escapes, `#` starting a comment at the start of a word), a backslash at the
 * end of a line continuing it, and sections from `%name [options]` to `%end` whose body is
 * kept verbatim. It knows nothing of what commands mean: kickstart.ts does.
 *
 * Errors never quote the file: the caller may have named something that is not a
 * kickstart at all (/etc/shadow), whose first line must not end up in an error message.
 */

/** pykickstart's section names; any other `%word` line is not a kickstart. */
const SECTIONS = new Set(["pre", "pre-install", "post", "packages", "onerror", "traceback", "addon", "anaconda", "include", "ksappend"]);

export interface KsCommand {
  kind: "command";
  name: string;
  args: string[];
  line: number;
}

export interface KsSection {
  kind: "section";
  /** Without the %: post, packages, pre… */
  name: string;
  args: string[];
  /** The lines between the header and %end, verbatim. */
  body: string;
  line: number;
}

export type KsItem = KsCommand | KsSection;

export class KickstartSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** Splits one logical line into words; returns [] for a blank or comment line. */
export function splitWords(text: string, line: number): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const add = (c: string) => (word = (word ?? "") + c);
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "#" && word === undefined) {
      break;
    } else if (c === "\\") {
      if (i + 1 < text.length) add(text[i + 1]!);
      i += 2;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new KickstartSyntaxError(line, "a single quote is not closed");
      add(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let quoted = "";
      for (;;) {
        if (j >= text.length) throw new KickstartSyntaxError(line, "a double quote is not closed");
        const d = text[j]!;
        if (d === '"') break;
        // Inside double quotes a backslash only escapes what the shell lets it escape.
        if (d === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1]!)) {
          quoted += text[j + 1];
          j += 2;
        } else {
          quoted += d;
          j++;
        }
      }
      add(quoted);
      i = j + 1;
    } else {
      add(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** True when the line ends in a backslash that is not itself escaped. */
function continues(text: string): boolean {
  const m = /\\+$/.exec(text);
  return !!m && m[0].length % 2 === 1;
}

export function parseKickstart(text: string): KsItem[] {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const items: KsItem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i]!;
    while (continues(logical) && !logical.trimStart().startsWith("#")) {
      if (i + 1 >= lines.length) throw new KickstartSyntaxError(start, "the last line ends in a backslash that continues nothing");
      logical = logical.slice(0, -1) + lines[++i]!;
    }
    const words = splitWords(logical, start);
    const [first, ...args] = words;
    if (first === undefined) continue;
    if (first.startsWith("%")) {
      const name = first.slice(1);
      if (name === "end") throw new KickstartSyntaxError(start, "%end without a section to close");
      if (!SECTIONS.has(name)) throw new KickstartSyntaxError(start, "this % line opens no kickstart section");
      // %include and %ksappend name another file: they have no body.
      if (name === "include" || name === "ksappend") {
        items.push({ kind: "section", name, args, body: "", line: start });
        continue;
      }
      const body: string[] = [];
      for (;;) {
        if (++i >= lines.length) throw new KickstartSyntaxError(start, `%${name} is not closed with %end`);
        if (lines[i]!.trim() === "%end") break;
        body.push(lines[i]!);
      }
      items.push({ kind: "section", name, args, body: body.length ? body.join("\n") + "\n" : "", line: start });
      continue;
    }
    items.push({ kind: "command", name: first, args, line: start });
  }
  return items;
}

export interface OptionSpec {
  /** Options that take a value (--name=value or --name value). */
  values?: readonly string[];
  /** Options that are on or off. */
  flags?: readonly string[];
}

export interface ParsedOptions {
  values: Map<string, string>;
  flags: Set<string>;
  positionals: string[];
}

/** Splits a command's words into its options (by `spec`) and positional arguments. */
export function parseOptions(command: string, args: string[], spec: OptionSpec, line: number): ParsedOptions {
  const out: ParsedOptions = { values: new Map(), flags: new Set(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) {
      out.positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (spec.values?.includes(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (value === undefined) throw new KickstartSyntaxError(line, `${command} ${name} needs a value`);
      out.values.set(name, value);
    } else if (spec.flags?.includes(name)) {
      if (eq >= 0) throw new KickstartSyntaxError(line, `${command} ${name} takes no value`);
      out.flags.add(name);
    } else {
      throw new KickstartSyntaxError(line, `${command} has no option ${name}`);
    }
  }
  return out;
}
