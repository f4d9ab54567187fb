/**
 * The OpenSSH command line that reaches a guest, for every runtime: the VM's key only, its
 * pinned host key only (under the alias bootc-NAME), and — for a guest whose port is on
 * another host's loopback — a jump through that host.
 */
import { requireTool } from "../host/tools.js";
import type { SshTarget } from "./exec.js";
import { hostAlias } from "./hostkey.js";

/**
 * SSH hands the guest one command line for its shell. One argument is taken as that line
 * (`bootc ssh vm -- 'ls | wc -l'`); several are quoted so the guest runs exactly that
 * argv (`bootc ssh vm -- sh -c 'echo a; echo b'`).
 */
export function remoteCommand(argv: string[]): string {
  if (argv.length === 1) return argv[0]!;
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

export interface SshArgvOptions {
  /** The command line for the guest's shell (see remoteCommand); none: a login shell. */
  remote?: string;
  /** Force (true) or refuse (false) a pseudo-terminal; undefined: ssh decides. */
  tty?: boolean;
  /** Options that put another host in between (its ssh_config and -J), placed first. */
  jump?: string[];
  /** Seconds to wait for the connection and sshd's banner (CONNECT_TIMEOUT_SEC). */
  connectTimeoutSec?: number;
}

/**
 * How long ssh waits for the guest's sshd to connect and say its banner. Without a limit, a
 * connection made while the guest reboots can hang for good: the guest's kernel took it, its
 * network went down before it could answer, and passt keeps the host side open (seen:
 * engine.e2e's reboot test, 9 minutes). Generous, for a busy emulated guest.
 */
export const CONNECT_TIMEOUT_SEC = 30;

export function sshArgv(t: SshTarget, o: SshArgvOptions = {}): { file: string; args: string[] } {
  const args = [
    ...(o.jump ?? []),
    "-i",
    t.identity,
    "-p",
    String(t.port),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `HostKeyAlias=${hostAlias(t.vmName)}`,
    "-o",
    `UserKnownHostsFile=${t.knownHosts}`,
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `ConnectTimeout=${o.connectTimeoutSec ?? CONNECT_TIMEOUT_SEC}`,
    "-o",
    "LogLevel=ERROR",
    ...(o.tty === undefined ? [] : [o.tty ? "-t" : "-T"]),
    `${t.user}@127.0.0.1`,
    ...(o.remote !== undefined ? ["--", o.remote] : []),
  ];
  return { file: requireTool("ssh"), args };
}
