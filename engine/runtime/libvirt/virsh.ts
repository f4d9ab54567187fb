/**
 * Talking to a libvirt host: `virsh` for libvirt itself, and for a remote host OpenSSH
 * for what libvirt does not carry (the guest's forwarded SSH port and the serial console
 * socket on the host's loopback, the serial log file).
 *
 * Why virsh and not the C API: libvirt has no maintained Node binding; virsh is the API's
 * own client, present wherever libvirt is, speaks every transport (qemu+ssh included) with
 * libvirt's own authentication, and takes argument arrays. Every call is one process, so
 * a remote call costs an SSH handshake (~0.2 s on loopback): bootc makes few.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { BootcError } from "../../core/errors.js";
import { findOnPath } from "../../host/tools.js";
import { writePrivateFile } from "../../core/private-file.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import type { EnginePaths } from "../../core/paths.js";
import { HOST_ALIAS, sshConfig, type Connection } from "./connection.js";

export const LIBVIRT_HINT = "install libvirt's client (Debian/Ubuntu: libvirt-clients; Fedora: libvirt-client; macOS: brew install libvirt)";

export function requireVirsh(): string {
  const found = findOnPath("virsh");
  if (!found) throw new BootcError("MISSING_TOOL", "virsh was not found on PATH", LIBVIRT_HINT);
  return found;
}

/** What a failed virsh call means for the user: an unreachable host is not a bad request. */
export function virshError(c: Connection, args: string[], stderr: string): BootcError {
  const text = stderr
    .replace(/^error: /gm, "")
    .replace(/\s+/g, " ")
    .trim();
  if (
    /failed to connect to the hypervisor|Failed to connect socket|Cannot recv data|End of file while reading data|Connection refused|Could not resolve hostname|Permission denied \(publickey|Host key verification failed/i.test(
      text,
    )
  ) {
    const hint = c.local
      ? "start libvirt (systemctl start libvirtd, or virtqemud) and check that you may use it; bootc doctor checks it"
      : `check that ${c.label} answers SSH with your key (ssh ${c.ssh?.user ? `${c.ssh.user}@` : ""}${c.ssh?.host}${c.ssh?.port ? ` -p ${c.ssh.port}` : ""}) and runs libvirtd`;
    return new BootcError("HOST_UNREACHABLE", `libvirt at ${c.uri} cannot be reached: ${text}`, hint);
  }
  return new BootcError("LIBVIRT_FAILED", `virsh ${args[0]} failed on ${c.label}: ${text}`);
}

export async function virsh(c: Connection, args: string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await execa(requireVirsh(), ["-q", "-c", c.uri, ...args], {
    reject: false,
    timeout: opts.timeoutMs ?? 120_000,
    stdin: "ignore",
    env: { LC_ALL: "C" },
  });
  if (r.exitCode !== 0) throw virshError(c, args, String(r.stderr || r.stdout || (r.timedOut ? "timed out" : "")));
  return String(r.stdout);
}

/** Like virsh(), but undefined where libvirt says the object does not exist. */
export async function virshMaybe(c: Connection, args: string[]): Promise<string | undefined> {
  try {
    return await virsh(c, args);
  } catch (e) {
    if (
      e instanceof BootcError &&
      e.code === "LIBVIRT_FAILED" &&
      /not found|no domain with|no storage (pool|vol)|failed to get (domain|pool|vol)/i.test(e.message)
    )
      return undefined;
    throw e;
  }
}

/** Where the SSH configuration and tunnel sockets for libvirt hosts go (paths.libvirtRunDir), and the roots it is checked against. */
export interface RunDir {
  dir: string;
  paths: EnginePaths;
}

/** The SSH configuration for a remote host, written (private) under `run.dir`; returns `ssh -F FILE` arguments. */
export async function hostSshArgs(c: Connection, run: RunDir): Promise<string[]> {
  const file = path.join(run.dir, "libvirt-host.ssh_config");
  // Its ProxyCommand runs as this user: nobody else may reach the file or its directory.
  await ensurePrivateDir(run.dir, run.paths);
  await writePrivateFile(file, sshConfig(c));
  return ["-F", file];
}

/** Runs a command on a remote libvirt host (its shell gets one line: callers pass only checked values). */
export async function hostExec(c: Connection, run: RunDir, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const ssh = findOnPath("ssh");
  if (!ssh) throw new BootcError("MISSING_TOOL", "ssh was not found on PATH", "install the OpenSSH client");
  const r = await execa(ssh, [...(await hostSshArgs(c, run)), HOST_ALIAS, "--", command], {
    reject: false,
    timeout: 60_000,
    stdin: "ignore",
    encoding: "utf8",
  });
  return { code: r.exitCode ?? 255, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * A stream to a TCP port on a remote host's loopback: `ssh -W`, whose stdin and stdout
 * are the connection. The ssh process ends with close(), or by itself when this process
 * dies (its stdin closes).
 */
export async function openForward(c: Connection, run: RunDir, port: number): Promise<{ stream: Duplex; close: () => void }> {
  const ssh = findOnPath("ssh");
  if (!ssh) throw new BootcError("MISSING_TOOL", "ssh was not found on PATH", "install the OpenSSH client");
  const child = spawn(ssh, [...(await hostSshArgs(c, run)), "-W", `127.0.0.1:${port}`, HOST_ALIAS], { stdio: ["pipe", "pipe", "ignore"] });
  child.on("error", () => undefined);
  const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  return { stream, close: () => (child.exitCode === null && child.signalCode === null ? void child.kill("SIGTERM") : undefined) };
}

/**
 * A local unix socket that leads to `target` (a TCP port or a unix socket) on a remote
 * host's loopback, through `ssh -L`. The ssh process belongs to the returned tunnel: it
 * ends with close(), or when its parent dies (it is not detached).
 */
export async function openTunnel(c: Connection, run: RunDir, target: { port: number } | { socket: string }): Promise<{ path: string; close: () => void }> {
  const ssh = findOnPath("ssh");
  if (!ssh) throw new BootcError("MISSING_TOOL", "ssh was not found on PATH", "install the OpenSSH client");
  const local = path.join(run.dir, `tunnel-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`);
  const remote = "port" in target ? `127.0.0.1:${target.port}` : target.socket;
  const child: ChildProcess = spawn(
    ssh,
    [...(await hostSshArgs(c, run)), "-N", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes", "-L", `${local}:${remote}`, HOST_ALIAS],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const close = () => {
    process.off("exit", close);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    void rm(local, { force: true });
  };
  // `ssh -N` would outlive a bootc that exits without closing it.
  process.once("exit", close);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (
      await stat(local).then(
        () => true,
        () => false,
      )
    )
      return { path: local, close };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  close();
  throw new BootcError(
    "HOST_UNREACHABLE",
    `no SSH tunnel to ${c.label}: ${stderr.trim() || "ssh did not open the forward in 20 s"}`,
    `check that ${c.label} answers SSH with your key`,
  );
}
