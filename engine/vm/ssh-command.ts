/**
 * The OpenSSH command line that reaches a VM with its key and its pinned host key. Kept
 * apart from the engine's heavier modules: `bootc ssh` needs only the record to exec ssh.
 */
import { BootcError } from "../errors.js";
import { requireTool } from "../host/tools.js";
import { vmPaths, type EnginePaths } from "../paths.js";
import { hostAlias } from "../ssh/hostkey.js";
import { vmStatus, type VmInfo } from "./status.js";

/**
 * SSH hands the guest one command line for its shell. One argument is taken as that line
 * (`bootc ssh vm -- 'ls | wc -l'`); several are quoted so the guest runs exactly that
 * argv (`bootc ssh vm -- sh -c 'echo a; echo b'`).
 */
export function remoteCommand(argv: string[]): string {
  if (argv.length === 1) return argv[0]!;
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

/** The VM, if SSH can reach it now; otherwise an error saying why not and what to do. */
export async function requireSsh(name: string, paths: EnginePaths): Promise<VmInfo> {
  const vm = await vmStatus(name, paths);
  if (vm.effectiveState !== "ssh-ready") {
    if (vm.sshPort === undefined) throw new BootcError("SSH_FAILED", `VM "${name}" has no SSH (the image has no sshd)`, `use the serial console: bootc console ${name}`);
    throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not ready for SSH (${vm.effectiveState})`, vm.effectiveState === "stopped" ? undefined : `wait for it: bootc list shows ssh-ready when it is`);
  }
  return vm;
}

export async function sshCommand(name: string, paths: EnginePaths, command: string[] = [], tty?: boolean): Promise<{ file: string; args: string[] }> {
  const vm = await requireSsh(name, paths);
  const args = [
    "-i", vm.identity,
    "-p", String(vm.sshPort),
    "-o", "IdentitiesOnly=yes",
    "-o", `HostKeyAlias=${hostAlias(name)}`,
    "-o", `UserKnownHostsFile=${vmPaths(name, paths).knownHosts}`,
    "-o", "StrictHostKeyChecking=yes",
    "-o", "LogLevel=ERROR",
    ...(tty === undefined ? [] : [tty ? "-t" : "-T"]),
    `${vm.sshUser}@127.0.0.1`,
    ...(command.length ? ["--", remoteCommand(command)] : []),
  ];
  return { file: requireTool("ssh"), args };
}
