/**
 * The guest's network. qemu's user network (slirp) maps its host address, 10.0.2.2, to the
 * host's 127.0.0.1: any guest could talk to `bootc serve` and every other local-only
 * service. QEMU 7.2 cannot turn that off (libslirp's disable_host_loopback is not exposed),
 * so by default a guest's network is passt instead (Debian 12 and later, Fedora): one
 * process per VM, joined to qemu by a socket pair, with `--no-map-gw`, which maps no
 * address to the host: DHCP, DNS and outbound connections work, the host's loopback does
 * not. passt also forwards the SSH port and `-p` ports, on 127.0.0.1 as qemu's hostfwd did.
 *
 * --allow-host-loopback keeps qemu's user network as it is (the imds cloud-init transport
 * needs it). Without passt (not installed; macOS), the guest gets qemu's user network with
 * restrict=on: DHCP and the forwarded ports work, nothing else goes out, the host's
 * loopback included.
 */
import { readFile, rm } from "node:fs/promises";
import type { Socket } from "node:net";
import type { ResultPromise } from "execa";
import { pollUntil } from "../../core/poll.js";
import type { PortForward } from "../../host/machine.js";
import { findOnPath, INSTALL_HINT } from "../../host/tools.js";
import { spawnOwned } from "../../host/spawn.js";
import { PasstLog } from "./passt-log.js";

/** How qemu's network device is backed: qemu's user network (restricted or not), or passt on a stream socket at this fd. */
export type QemuNetwork = { kind: "user"; restrict: boolean } | { kind: "stream"; fd: number };

export type NetworkPlan = { kind: "user"; restrict: boolean; warning?: string } | { kind: "passt"; binary: string; warning?: string };

/**
 * What passt does with a published port that a user would not expect: Debian 12's passt
 * (2023-03) completes an inbound connection to the guest only once the client has sent
 * something, so a service that speaks first (SMTP, MySQL, FTP; not HTTP or SSH) seems to hang.
 */
export const SERVER_FIRST_WARNING =
  "-p ports go through passt, which passes a connection on to the guest once the client sends (Debian 12's passt): for a service that speaks first (SMTP, MySQL, FTP) boot with --allow-host-loopback";

export function planNetwork(o: { allowHostLoopback: boolean; platform: NodeJS.Platform; passt?: string; published?: number }): NetworkPlan {
  if (o.allowHostLoopback) return { kind: "user", restrict: false };
  if (o.platform === "linux" && o.passt) return { kind: "passt", binary: o.passt, ...(o.published ? { warning: SERVER_FIRST_WARNING } : {}) };
  const why = o.platform === "linux" ? "passt is not installed" : "passt does not run on this system";
  return {
    kind: "user",
    restrict: true,
    warning: `${why}: the guest has no outbound network (only DHCP and the forwarded ports); ${o.platform === "linux" ? INSTALL_HINT.passt : "--allow-host-loopback gives it qemu's user network, host loopback included"}`,
  };
}

export const findPasst = () => findOnPath("passt");

/** The fd qemu and passt each hold their end of the socket pair on. */
export const LINK_FD = 3;

/**
 * passt's arguments: its log in `logFile` (informational messages included: the guest's DHCP
 * ack is read from it, passt-log.ts), the socket pair on LINK_FD, nothing mapped to the host,
 * TCP forwards on 127.0.0.1.
 */
export function passtArgs(forwards: PortForward[], logFile: string): string[] {
  return ["--foreground", "--log-file", logFile, "--fd", String(LINK_FD), "--no-map-gw", ...forwards.flatMap((f) => ["-t", `127.0.0.1/${f.host}:${f.guest}`])];
}

/** Whether every port has a socket listening on 127.0.0.1 (Linux: /proc/net/tcp, state 0A). */
async function listening(ports: number[]): Promise<boolean> {
  const table = await readFile("/proc/net/tcp", "utf8");
  const open = new Set(
    table
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === "0A" && f[1]?.startsWith("0100007F:"))
      .map((f) => parseInt(f[1]!.slice(9), 16)),
  );
  return ports.every((p) => open.has(p));
}

export interface Passt {
  child: ResultPromise;
  /** This process's end of the socket pair: hand it to qemu as fd LINK_FD, then close it here. */
  link: Socket;
  /** Its log, read for the guest's DHCP ack (closed when passt ends). */
  log: PasstLog;
}

/**
 * Starts passt for a guest, logging to `logFile`, and waits until it listens on every
 * forwarded port. It ends when qemu closes its end of the socket pair (or with its owner,
 * like every child).
 */
export async function startPasst(binary: string, forwards: PortForward[], logFile: string): Promise<Passt> {
  await rm(logFile, { force: true }); // this boot's log only
  // stdio "pipe" at fd 3 is a socket pair (libuv): passt gets one end, we hold the other for qemu.
  const child = spawnOwned(binary, passtArgs(forwards, logFile), { stdio: ["ignore", "ignore", "pipe", "pipe"] });
  const log = new PasstLog(logFile);
  let err = "";
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  let alive = true;
  const ended = () => {
    alive = false;
    log.close();
  };
  void child.then(ended, ended);
  const ready = await pollUntil(async () => (!alive ? false : (await listening(forwards.map((f) => f.host))) || undefined), {
    timeoutMs: 15_000,
    intervalMs: 50,
  });
  if (!ready) {
    child.kill("SIGKILL");
    // What it said before its log was open is on stderr, what it said after in the log
    // ("0.0123: error: …"). passt 2023 also prints "Failed to send … to syslog" when there is no syslog.
    const logged = (await readFile(logFile, "utf8").catch(() => ""))
      .split("\n")
      .map((l) => /^\d+\.\d+: (?:error|warning|critical):\s*(.*)$/i.exec(l)?.[1] ?? "");
    const said = [...err.split("\n"), ...logged].filter((l) => l.trim() && !/to syslog|Changing to nobody/.test(l)).pop();
    throw new Error(`passt did not start${said ? `: ${said.trim()}` : ""}`);
  }
  return { child, link: child.stdio[LINK_FD] as Socket, log };
}
