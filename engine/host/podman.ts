/**
 * The one place that runs podman. Always an argument array (never a shell string);
 * failures become typed errors that quote podman's own message.
 */
import { execa, type Options } from "execa";
import { BootcError } from "../core/errors.js";
import { findOnPath, INSTALL_HINT } from "./tools.js";

export function podmanPath(env: NodeJS.ProcessEnv = process.env): string {
  const found = findOnPath("podman", env);
  if (!found) throw new BootcError("MISSING_TOOL", "podman was not found on PATH", INSTALL_HINT.podman);
  return found;
}

export async function podman(args: string[], options: Options = {}): Promise<string> {
  const bin = podmanPath((options.env as NodeJS.ProcessEnv | undefined) ?? process.env);
  const r = await execa(bin, args, { reject: false, ...options, encoding: "utf8" });
  if (r.exitCode !== 0 || r.failed) {
    const stderr = String(r.stderr ?? "").trim();
    throw new BootcError("PODMAN_FAILED", `podman ${args[0]} failed: ${stderr || r.shortMessage}`, "run `bootc doctor` to check the podman setup");
  }
  return String(r.stdout ?? "");
}

export async function podmanJson<T>(args: string[], options: Options = {}): Promise<T> {
  return JSON.parse(await podman(args, options)) as T;
}
