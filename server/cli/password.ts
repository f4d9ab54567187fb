/**
 * `--password` as a user gives it: asked on the terminal without echo (twice, to catch a
 * typo), or read from the first line of `--password-file`. The clear text goes straight
 * to the engine, which keeps only its hash.
 */
import { readFile } from "node:fs/promises";
import { BootcError } from "../../engine/core/errors.js";

/** Reads one line from the terminal without echoing it. */
function askHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let text = "";
    stdin.setRawMode(true);
    stdin.resume();
    const done = (result: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      result();
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(() => resolve(text));
        if (ch === "\u0003" || ch === "\u0004")
          return done(() => reject(new BootcError("INVALID_ARGUMENT", "no password was entered", "run the command again and type a password")));
        if (ch === "\u007f" || ch === "\b") text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on("data", onData);
  });
}

export async function promptPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      "--password without a value asks on a terminal, and there is none",
      "give --password-file FILE (its first line is the password)",
    );
  }
  const first = await askHidden("Password for the VM's user: ");
  const again = await askHidden("Same password again: ");
  if (first !== again) throw new BootcError("INVALID_ARGUMENT", "the two passwords differ", "run the command again");
  return first;
}

export async function readPasswordFile(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new BootcError("INVALID_ARGUMENT", `cannot read the password file ${file}`, "give a readable file whose first line is the password");
  });
  return text.split(/\r?\n/)[0] ?? "";
}

/** `--password` alone means "ask me": node's parser would take the next word (the image) as its value. */
export function markBarePassword(argv: string[]): string[] {
  return argv.map((a) => (a === "--password" ? "--password-prompt" : a));
}
