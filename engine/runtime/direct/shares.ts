/**
 * The VM's shared folders: one virtiofsd per source (the image's root in ephemeral mode,
 * then each --bind), each on its own socket, started before qemu and owned by the monitor.
 * Rootless, every daemon runs in podman's user namespace, where it is root and the files
 * keep their owners: the image's as in the image, the user's own as root.
 */
import type { ResultPromise } from "execa";
import { findVirtiofsd } from "../../host/tools.js";
import { inNamespace, type PodmanNamespace } from "../../host/userns.js";
import { virtiofsdCommand } from "../../host/virtiofsd.js";
import { spawnOwned, waitForFile } from "../../host/spawn.js";

export interface ShareSource {
  source: string;
  readOnly: boolean;
  /** "always" for a source that cannot change under the guest (host/virtiofsd.ts). */
  cache?: "always";
}

export interface ShareDaemonsOptions {
  socketOf: (index: number) => string;
  /** Podman's namespace, for a rootless user. */
  userns?: PodmanNamespace;
  /** A daemon ended on its own, not cleanly: the guest lost that filesystem. */
  onLost: (source: string, how: string) => void;
  /** Between daemons: a stop that came meanwhile ends the boot here (it throws). */
  checkpoint: () => void;
  /** Each daemon once started, so the caller ends it with the VM even if a later one fails. */
  started: (child: ResultPromise) => void;
}

/** Starts a virtiofsd per source and waits for each one's socket; throws with its output if one does not start. */
export async function startShareDaemons(sources: ShareSource[], o: ShareDaemonsOptions): Promise<void> {
  if (!sources.length) return;
  const virtiofsd = await findVirtiofsd();
  for (const [i, s] of sources.entries()) {
    const plain = virtiofsdCommand({ binary: virtiofsd.path, flavour: virtiofsd.flavour, socket: o.socketOf(i), rootless: !!o.userns, ...s });
    const cmd = o.userns ? await inNamespace(o.userns, plain) : plain;
    const child = spawnOwned(cmd.file, cmd.args, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    let err = "";
    child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    o.started(child);
    let alive = true;
    void child.then((r) => {
      alive = false;
      // A clean exit (code 0) is the guest powering off: it let go of the filesystem.
      if (r.signal || r.exitCode !== 0) o.onLost(s.source, r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`);
    });
    if (!(await waitForFile(o.socketOf(i), 15_000, () => alive))) {
      throw new Error(`virtiofsd for ${s.source} did not start: ${err.trim() || "no output"}`);
    }
    o.checkpoint();
  }
}
