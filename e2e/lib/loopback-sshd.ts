/**
 * An OpenSSH server on 127.0.0.1 for the tests that reach "another host" over SSH (the
 * libvirt host over qemu+ssh, the remote podman): a throwaway host key and one throwaway
 * client key, run in the foreground as the test's child and ended by it. Its host key is
 * added to root's known_hosts (libvirt's and podman's ssh read only that one) and taken
 * out again at stop().
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { freePort, tempDir, waitUntil } from "./harness.js";

/** A daemon run in the foreground as the test's child; its stderr is drained so it never blocks. */
export function startChild(file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", () => undefined);
  return child;
}

/** SIGTERM, then SIGKILL after 10 s: only a child of this process that has not exited yet. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

export interface LoopbackSshd {
  port: number;
  /** The client key the server accepts. */
  key: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts sshd on a free port of 127.0.0.1 for `user`, with `config` lines added (who may
 * log in, which forwardings), and waits until `user` can log in with the client key.
 */
export async function startLoopbackSshd(o: { user: string; config: string[]; prefix: string }): Promise<LoopbackSshd> {
  const dir = tempDir(o.prefix);
  // sshd reads authorized_keys as the user: the directory and file are readable by it.
  chmodSync(dir, 0o755);
  const port = await freePort();
  const key = path.join(dir, "client_key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  writeFileSync(path.join(dir, "authorized_keys"), readFileSync(`${key}.pub`), { mode: 0o644 });
  writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      ...o.config,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PidFile none",
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const child = startChild("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")]);
  const knownHosts = path.join(process.env.HOME ?? "/root", ".ssh", "known_hosts");
  const stop = async () => {
    await stopChild(child);
    await execa("ssh-keygen", ["-R", `[127.0.0.1]:${port}`, "-f", knownHosts], { reject: false });
  };
  try {
    mkdirSync(path.dirname(knownHosts), { recursive: true, mode: 0o700 });
    const hostKey = readFileSync(path.join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`, { flag: "a", mode: 0o600 });
    await waitUntil(
      "sshd answers",
      async () =>
        (await execa("ssh", ["-i", key, "-p", String(port), "-o", "BatchMode=yes", `${o.user}@127.0.0.1`, "true"], { reject: false })).exitCode === 0
          ? true
          : undefined,
      30_000,
      300,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, key, child, stop };
}
