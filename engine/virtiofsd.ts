/**
 * virtiofsd command lines for both flavours. A read-only share is enforced on the host,
 * not only by the guest's mount options: the Rust daemon has --readonly; for the C one we
 * start it in a private mount namespace where its source is bind-mounted read-only.
 */
import type { VirtiofsdFlavour } from "./host/tools.js";
import { fuseOptionValue } from "./schema.js";

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
 * A fixed script: its inputs arrive as positional parameters ("$1", "$@"), so no user
 * input is ever spliced into shell text.
 */
const RO_NAMESPACE_SCRIPT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"';

export function virtiofsdCommand(s: VirtiofsdSpec): Command {
  if (s.flavour === "rust") {
    return {
      file: s.binary,
      args: [`--socket-path=${s.socket}`, `--shared-dir=${s.source}`, `--cache=${s.cache ?? "auto"}`, "--sandbox=namespace", ...(s.readOnly ? ["--readonly"] : [])],
    };
  }
  const daemon = [s.binary, `--socket-path=${s.socket}`, "-o", `source=${fuseOptionValue(s.source)}`, "-o", `cache=${s.cache ?? "auto"}`];
  if (!s.readOnly) return { file: daemon[0]!, args: daemon.slice(1) };
  return {
    file: "unshare",
    args: ["--mount", "--propagation", "private", "--", "sh", "-c", RO_NAMESPACE_SCRIPT, "sh", s.source, ...daemon],
  };
}
