/**
 * The regular user of the rootless tests and benchmark, `bootc-rootless` (made by
 * `scripts/setup.sh --tests`), and running commands as that user from the root test suite.
 */
import { chmodSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa, type Options } from "execa";
import { DEMO_IMAGE, tempDir } from "./harness.js";

export const USER = "bootc-rootless";
export const account = (() => {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith(`${USER}:`));
  if (!line) throw new Error(`no user ${USER}: run scripts/setup.sh --tests, which makes it`);
  const [, , uid, gid, , dir] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home: dir! };
})();

/** The user's own login environment: nothing of root's (XDG_RUNTIME_DIR, HOME) leaks in. */
export const userEnv = { HOME: account.home, USER, LOGNAME: USER, PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", LANG: "C.UTF-8" };
export const asUser = (cmd: string[], options: Options = {}) =>
  execa("setpriv", [`--reuid=${account.uid}`, `--regid=${account.gid}`, "--init-groups", "--", "env", "-i", ...Object.entries(userEnv).map(([k, v]) => `${k}=${v}`), ...cmd], { reject: false, all: true, ...options });

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
