/**
 * Starting the monitor's children so that they cannot outlive it. On Linux each child
 * is started through `setpriv --pdeathsig SIGKILL`, so the kernel kills it when the
 * monitor dies, even by kill -9. (macOS has no parent-death signal; there the monitor's
 * exit handlers are the only guard — see docs/engine.md.)
 */
import { access } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type Options, type ResultPromise } from "execa";
import { findOnPath } from "./tools.js";

export function spawnOwned(file: string, args: string[], options: Options = {}): ResultPromise {
  const setpriv = process.platform === "linux" ? findOnPath("setpriv") : undefined;
  const [cmd, argv] = setpriv ? [setpriv, ["--pdeathsig", "SIGKILL", "--", file, ...args]] : [file, args];
  return execa(cmd, argv, { reject: false, buffer: false, ...options });
}

export async function waitForFile(path: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return true;
    if (!alive()) return false;
    await sleep(50);
  }
  return false;
}

export { isAlive } from "../core/proc.js";
