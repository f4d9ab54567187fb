/**
 * The regular user of the rootless tests and benchmark, `bootc-rootless` (made by
 * `scripts/setup.sh --tests`), and running commands as that user from the root test suite.
 */
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { execa, type Options } from "execa";
import { DEMO_IMAGE, isPodmanPause, tempDir } from "./harness.js";
import { useStorageDriverOf } from "./podman-storage.js";

export const USER = "bootc-rootless";
export const account = (() => {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${USER}:`));
  if (!line) throw new Error(`no user ${USER}: run scripts/setup.sh --tests, which makes it`);
  const [, , uid, gid, , dir] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home: dir! };
})();

/** The user's own login environment: nothing of root's (XDG_RUNTIME_DIR, HOME) leaks in. */
export const userEnv = { HOME: account.home, USER, LOGNAME: USER, PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", LANG: "C.UTF-8" };
export const asUser = (cmd: string[], options: Options = {}) =>
  execa(
    "setpriv",
    [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "--", "env", "-i", ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), ...cmd],
    { reject: false, all: true, ...options },
  );

/**
 * Puts the user's podman storage on `driver` — vfs (plain directories, podman's choice on
 * this machine) or overlay (real mounts that exist only in podman's namespace, the usual
 * choice on Fedora and Ubuntu workstations) — starting afresh when it was on the other one.
 */
export const useStorageDriver = (driver: "vfs" | "overlay"): Promise<void> => useStorageDriverOf(asUser, account, driver);

/** Gives the user's podman storage the demo image root has (the same image id), once. */
export async function giveUserDemoImage(): Promise<void> {
  const rootId = (await execa("podman", ["image", "inspect", "--format", "{{.Id}}", DEMO_IMAGE])).stdout.trim();
  const userId = String((await asUser(["podman", "image", "inspect", "--format", "{{.Id}}", DEMO_IMAGE])).stdout).trim();
  if (userId === rootId) return;
  const archive = path.join(tempDir("bce-rl-image-"), "demo.tar");
  await execa("podman", ["save", "--output", archive, DEMO_IMAGE]);
  chmodSync(path.dirname(archive), 0o755);
  chmodSync(archive, 0o644);
  const r = await asUser(["podman", "load", "--input", archive]);
  if (r.exitCode !== 0) throw new Error(`podman load as ${USER} failed: ${r.all}`);
}

/**
 * The user's live processes but podman's own pause process (which holds its namespace, and
 * stays). Zombies are left out: they have ended, and wait only for their parent to reap them.
 */
export function userProcesses(): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid) continue;
    try {
      if (statSync(`/proc/${pid}`).uid !== account.uid || isPodmanPause(pid)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      found.push({ pid, cmd: readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
