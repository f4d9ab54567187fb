import { spawn } from "node:child_process";
import { constants } from "node:os";
import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc ssh NAME [-- COMMAND...]

Opens a shell in the VM over SSH, or runs COMMAND there and exits with its exit code.
Uses the VM's key and the guest host key pinned at its first connection after boot;
a different host key is refused.`;

/** Runs OpenSSH attached to this terminal; resolves with its exit code (128+N for a signal). */
function runAttached(cmd: { file: string; args: string[] }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, { stdio: "inherit" });
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : 255)));
  });
}

export async function interactiveSsh(engine: Engine, name: string, command: string[]): Promise<number> {
  return runAttached(await engine.sshCommand(name, command));
}

export async function main(argv: string[]): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { positionals } = parseCommand({ args: own, allowPositionals: true, options: {} }, HELP);
  const [name, ...extra] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc ssh NAME [-- COMMAND...]");
  return interactiveSsh(new Engine(), name, [...extra, ...command]);
}
