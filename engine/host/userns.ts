/**
 * Rootless podman keeps a user namespace of its own, held open by its "pause" process: the
 * user is root there, and the image files' in-image owners (root, daemons' users) are the
 * user's subordinate ids. `podman image mount` works only inside it, and only a process
 * inside it can read every file of an image as its owner would. So, for a regular user, the
 * processes that read an image's files — virtiofsd serving it, mkfs copying it — join that
 * namespace (nsenter into the pause process's user and mount namespaces), and the rest of
 * the engine, qemu included, runs as the user.
 */
import { readdir, readFile, readlink } from "node:fs/promises";
import { BootcError } from "../core/errors.js";
import { localPodmanEnv, podman } from "./podman.js";
import type { Command } from "./virtiofsd.js";

/** True when podman runs rootless for us: a regular user on Linux (macOS podman runs in its machine). */
export const isRootless = (): boolean => process.platform === "linux" && process.getuid?.() !== 0;

/** Podman's user namespace, by a process of ours that is in it. */
export interface PodmanNamespace {
  pid: number;
  /** The namespaces' identities (`user:[…]`, `mnt:[…]`), to check the pid still names them. */
  user: string;
  mnt: string;
}

const nsLinks = async (pid: number | "self") => Promise.all([readlink(`/proc/${pid}/ns/user`), readlink(`/proc/${pid}/ns/mnt`)]).catch(() => undefined);

/** When a process started (clock ticks since boot), from /proc/PID/stat; the comm field may hold spaces. */
async function startTime(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? Infinity);
}

/**
 * Finds podman's namespace, starting its pause process when there is none: `podman unshare`
 * names the namespaces, and the oldest process of ours in both is the pause process. The
 * pid is only ever joined (never signalled), and checked again right before (`inNamespace`).
 */
export async function podmanNamespace(): Promise<PodmanNamespace> {
  // The local podman's namespace even when CONTAINER_HOST names another podman (an export from there is unpacked here, in it).
  const out = await podman(["unshare", "readlink", "/proc/self/ns/user", "/proc/self/ns/mnt"], { env: localPodmanEnv(), extendEnv: false });
  const [user, mnt] = out.trim().split("\n");
  let best: { pid: number; start: number } | undefined;
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const links = await nsLinks(pid); // other users' processes refuse: skipped
    if (!links || links[0] !== user || links[1] !== mnt) continue;
    const start = await startTime(pid);
    if (!best || start < best.start) best = { pid, start };
  }
  if (!best || !user || !mnt) {
    throw new BootcError(
      "PODMAN_FAILED",
      "podman's user namespace has no process to join (its pause process is missing)",
      "run `podman system migrate`, then try again; `bootc doctor` checks the rootless setup",
    );
  }
  return { pid: best.pid, user, mnt };
}

/** The command line that runs `cmd` as root in podman's namespace (the user's own uid, mapped to 0 there). */
export async function inNamespace(ns: PodmanNamespace, cmd: Command): Promise<Command> {
  const links = await nsLinks(ns.pid);
  if (!links || links[0] !== ns.user || links[1] !== ns.mnt) {
    throw new BootcError("PODMAN_FAILED", "podman's user namespace went away (was `podman system migrate` run?)", "try again");
  }
  // --preserve-credentials keeps the supplementary groups (kvm): the uid is already 0 there.
  return { file: "nsenter", args: [`--target=${ns.pid}`, "--user", "--mount", "--preserve-credentials", "--", cmd.file, ...cmd.args] };
}

/** `cmd` as it must run to act on files with an image's owners: rootless, as root in podman's namespace; else as it is. */
export async function asImageOwner(cmd: Command): Promise<Command> {
  return isRootless() ? inNamespace(await podmanNamespace(), cmd) : cmd;
}

/** The path of `p` (a path in podman's mount namespace) as this process can open it. */
export const namespacePath = (ns: PodmanNamespace, p: string): string => `/proc/${ns.pid}/root${p}`;
