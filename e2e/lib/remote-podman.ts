/**
 * A remote podman as a podman machine is reached: the user `bootc-remote`'s rootless
 * `podman system service` on a socket in its runtime directory, behind an OpenSSH server on
 * 127.0.0.1 (throwaway host key, one authorised test key). A user of its own, apart from
 * `bootc-rootless`, so that this file and rootless.e2e.ts can run side by side. The user is
 * made here if missing (scripts/setup.sh --tests makes it too).
 */
import type { ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type Options } from "execa";
import { DEMO_IMAGE, tempDir, waitUntil } from "./harness.js";
import { startChild, startLoopbackSshd, stopChild } from "./loopback-sshd.js";
import { useStorageDriverOf } from "./podman-storage.js";
import { insecureRegistriesConf } from "./registry.js";

export const REMOTE_USER = "bootc-remote";
/** The demo image under this file's own names, in the remote user's storage only (never a global name other tests use). */
export const REMOTE_IMAGE = "localhost/bootc-remote-demo";

function accountOf(user: string): { uid: number; gid: number; home: string } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) return undefined;
  const [, , uid, gid, , dir] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home: dir! };
}

const hasRange = (file: string, user: string, uid: number) =>
  readFileSync(file, "utf8")
    .split("\n")
    .some((l) => l.startsWith(`${user}:`) || l.startsWith(`${uid}:`));

/** The user, with subordinate ids and an unlocked account (sshd without PAM refuses a locked one, even for a key). */
export async function ensureRemoteUser(): Promise<{ uid: number; gid: number; home: string }> {
  if (!accountOf(REMOTE_USER)) await execa("useradd", ["--create-home", "--shell", "/bin/bash", "--comment", "bootc-console tests", REMOTE_USER]);
  const a = accountOf(REMOTE_USER)!;
  if (!hasRange("/etc/subuid", REMOTE_USER, a.uid) || !hasRange("/etc/subgid", REMOTE_USER, a.uid)) {
    // After every range given out, as scripts/setup.sh does.
    const ends = [..."/etc/subuid /etc/subgid".split(" ").flatMap((f) => readFileSync(f, "utf8").split("\n"))]
      .map((l) => l.split(":"))
      .filter((p) => p.length === 3)
      .map(([, s, n]) => Number(s) + Number(n));
    const start = Math.max(100000, ...ends);
    await execa("usermod", ["--add-subuids", `${start}-${start + 65535}`, "--add-subgids", `${start}-${start + 65535}`, REMOTE_USER]);
  }
  const shadow = (await execa("getent", ["shadow", REMOTE_USER])).stdout.split(":")[1] ?? "";
  if (shadow.startsWith("!")) await execa("usermod", ["-p", "*", REMOTE_USER]);
  return a;
}

export function remoteEnv(a: { home: string; uid: number }) {
  return {
    HOME: a.home,
    USER: REMOTE_USER,
    LOGNAME: REMOTE_USER,
    PATH: "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
    LANG: "C.UTF-8",
    XDG_RUNTIME_DIR: `/run/user/${a.uid}`,
  };
}

function asUserArgv(a: { uid: number; gid: number; home: string }, cmd: string[]): string[] {
  return [`--reuid=${a.uid}`, `--regid=${a.gid}`, "--init-groups", "--", "env", "-i", ...Object.entries(remoteEnv(a)).map(([k, v]) => `${k}=${v}`), ...cmd];
}

export const asRemoteUser = (a: { uid: number; gid: number; home: string }, cmd: string[], options: Options = {}) =>
  execa("setpriv", asUserArgv(a, cmd), { reject: false, all: true, ...options });

export interface RemotePodman {
  uid: number;
  socket: string;
  sshPort: number;
  key: string;
  /** CONTAINER_HOST's value for this podman. */
  url: string;
  /** The pids of the service and sshd (stopped by these pids in stop()). */
  pids: number[];
  asUser(cmd: string[]): ReturnType<typeof asRemoteUser>;
  stop(): Promise<void>;
}

/**
 * Gives the remote user's storage the demo image (the same image id as root's) under
 * REMOTE_IMAGE:one and :two only — two tags, as the listing must show both.
 */
async function loadDemoImage(a: { uid: number; gid: number; home: string }): Promise<void> {
  const rootId = (await execa("podman", ["image", "inspect", "--format", "{{.Id}}", DEMO_IMAGE])).stdout.trim();
  const names = String((await asRemoteUser(a, ["podman", "image", "inspect", "--format", "{{.Id}} {{.RepoTags}}", `${REMOTE_IMAGE}:one`])).stdout);
  if (!(names.startsWith(rootId) && names.includes(`${REMOTE_IMAGE}:two`))) {
    const dir = tempDir("bce-remote-image-");
    const archive = path.join(dir, "demo.tar");
    await execa("podman", ["save", "--output", archive, DEMO_IMAGE]);
    chmodSync(dir, 0o755);
    chmodSync(archive, 0o644);
    const r = await asRemoteUser(a, ["podman", "load", "--input", archive]);
    if (r.exitCode !== 0) throw new Error(`podman load as ${REMOTE_USER} failed: ${r.all}`);
    for (const tag of ["one", "two"]) await asRemoteUser(a, ["podman", "tag", rootId, `${REMOTE_IMAGE}:${tag}`]);
  }
  // The global name stays out of this user's storage: only this file's names are there.
  await asRemoteUser(a, ["podman", "untag", rootId, DEMO_IMAGE]);
}

/**
 * The user's registries.conf drop-in naming loopback registries that speak plain HTTP, as
 * a podman machine's user would configure one; podman reads it when the service starts.
 * Without any, the file goes.
 */
async function writeInsecureRegistries(a: { uid: number; gid: number; home: string }, locations: string[]): Promise<void> {
  const dir = path.join(a.home, ".config/containers/registries.conf.d");
  const file = path.join(dir, "bootc-e2e-insecure.conf");
  if (!locations.length) return rmSync(file, { force: true });
  await asRemoteUser(a, ["mkdir", "-p", dir]);
  writeFileSync(file, insecureRegistriesConf(locations));
  chownSync(file, a.uid, a.gid);
}

/**
 * Puts the remote user's storage on overlay, as a podman machine has it (Fedora CoreOS),
 * starting afresh if it was on vfs — podman 4.3's choice for a new rootless user here, where
 * every container made and every build step copies the whole 362 MB tree (a one-line build
 * took 17.4 s, 7.5 s of it system time, against 1.2 s on overlay).
 */
const useOverlayStorage = (a: { uid: number; gid: number; home: string }) => useStorageDriverOf((cmd) => asRemoteUser(a, cmd), a, "overlay");

export async function startRemotePodman(opts: { insecureRegistries?: string[] } = {}): Promise<RemotePodman> {
  const a = await ensureRemoteUser();
  const run = `/run/user/${a.uid}`;
  mkdirSync(run, { recursive: true, mode: 0o700 });
  chownSync(run, a.uid, a.gid);
  await asRemoteUser(a, ["mkdir", "-p", `${run}/podman`]);
  // After the runtime directory exists: podman needs it even for `podman info`.
  await useOverlayStorage(a);
  await writeInsecureRegistries(a, opts.insecureRegistries ?? []);
  await loadDemoImage(a);
  // An export container a killed run left there (bootc removes its own): tests check that none remains.
  const left = String((await asRemoteUser(a, ["podman", "ps", "--all", "--quiet", "--filter", "label=io.bootc-console.export=1"])).stdout ?? "").trim();
  if (left) await asRemoteUser(a, ["podman", "rm", "--force", ...left.split("\n")]);
  const socket = `${run}/podman/podman.sock`;
  rmSync(socket, { force: true });
  const service = startChild("setpriv", asUserArgv(a, ["podman", "system", "service", "--time=0", `unix://${socket}`]));
  const children: ChildProcess[] = [service];
  try {
    await waitUntil("the remote podman service's socket", () => (existsSync(socket) ? true : undefined), 30_000, 200);
    const sshd = await startLoopbackSshd({
      user: REMOTE_USER,
      prefix: "bce-remote-sshd-",
      config: [`AllowUsers ${REMOTE_USER}`, "AllowStreamLocalForwarding yes"],
    });
    children.push(sshd.child);
    const { port, key } = sshd;
    return {
      uid: a.uid,
      socket,
      sshPort: port,
      key,
      url: `ssh://${REMOTE_USER}@127.0.0.1:${port}${socket}`,
      pids: children.map((c) => c.pid!),
      asUser: (cmd) => asRemoteUser(a, cmd),
      async stop() {
        await sshd.stop();
        for (const c of children.reverse()) await stopChild(c);
      },
    };
  } catch (e) {
    for (const c of children) await stopChild(c);
    throw e;
  }
}
