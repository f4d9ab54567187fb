/**
 * virtiofsd command lines for both flavours. A read-only share is enforced on the host,
 * not only by the guest's mount options: the Rust daemon has --readonly; for the C one we
 * start it in a private mount namespace where its source is bind-mounted read-only.
 * For a rootless user the caller runs the command in podman's user namespace
 * (engine/images/userns.ts), where the daemon is root.
 */
import path from "node:path";
import type { VirtiofsdFlavour } from "./tools.js";
import { fuseOptionValue } from "../core/schema.js";

export interface VirtiofsdSpec {
  binary: string;
  flavour: VirtiofsdFlavour;
  socket: string;
  source: string;
  readOnly: boolean;
  /**
   * The guest's cache policy. "auto" (the default) revalidates with the host, for shares the
   * host may edit while the guest runs; "always" trusts the guest's cache, for a source that
   * cannot change under it — the image's root filesystem, mounted read-only from podman
   * storage. Every lookup the guest does not send to the daemon is a round trip saved, and
   * booting reads thousands of small files: under TCG, "always" cut the demo's boot by a
   * fifth (docs/benchmarks.md).
   */
  cache?: "auto" | "always";
}

export interface Command {
  file: string;
  args: string[];
}

/**
 * Fixed scripts: their inputs arrive as positional parameters ("$1", "$@"), so no user
 * input is ever spliced into shell text. Each step uses its parameter and shifts it off.
 */
const STEPS = {
  // Rootless, the C daemon runs as root in podman's user namespace, but /var/run/virtiofsd,
  // where it insists on writing a pid file, belongs to the real root. A private tmpfs over
  // /var/run (in a mount namespace of its own) gives it one; the socket is then made
  // relative to its directory, entered first, as /var/run may have held it.
  privateRun: 'cd "$1" && mount -t tmpfs -o mode=0700 tmpfs /var/run && shift',
  readOnly: 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift',
};

export function virtiofsdCommand(s: VirtiofsdSpec & { rootless?: boolean }): Command {
  if (s.flavour === "rust") {
    return {
      file: s.binary,
      args: [
        `--socket-path=${s.socket}`,
        `--shared-dir=${s.source}`,
        `--cache=${s.cache ?? "auto"}`,
        "--sandbox=namespace",
        ...(s.readOnly ? ["--readonly"] : []),
      ],
    };
  }
  const socket = s.rootless ? path.basename(s.socket) : s.socket;
  const daemon = [s.binary, `--socket-path=${socket}`, "-o", `source=${fuseOptionValue(s.source)}`, "-o", `cache=${s.cache ?? "auto"}`];
  if (!s.readOnly && !s.rootless) return { file: daemon[0]!, args: daemon.slice(1) };
  const steps = [...(s.rootless ? [STEPS.privateRun] : []), ...(s.readOnly ? [STEPS.readOnly] : []), 'exec "$@"'];
  const params = [...(s.rootless ? [path.dirname(s.socket)] : []), ...(s.readOnly ? [s.source] : [])];
  return {
    file: "unshare",
    args: ["--mount", "--propagation", "private", "--", "sh", "-c", steps.join(" && "), "sh", ...params, ...daemon],
  };
}
