/**
 * Reaching a libvirt VM from this machine: SSH (the guest's port forwarded on its host's
 * loopback, tunnelled for a remote host), the serial console socket, and the serial log
 * that libvirt keeps on the host.
 */
import { stat } from "node:fs/promises";
import net from "node:net";
import type { Writable } from "node:stream";
import { BootcError } from "../../core/errors.js";
import { followFile, readTail } from "../../core/file-tail.js";
import { libvirtRunDir, libvirtVmPaths, type EnginePaths } from "../../core/paths.js";
import type { ConsoleAttachment, VmInfo } from "../../core/vm.js";
import { sshExec, type SshTarget } from "../../ssh/exec.js";
import { existingHostFiles } from "./host-files.js";
import type { Host } from "./hosts.js";
import { hostExec, openForward, openTunnel } from "./virsh.js";

/**
 * How SSH reaches the guest: its forwarded port on the libvirt host, through an SSH tunnel
 * for a remote one. Pins the guest's host key at first use unless `pin` is false.
 */
export async function sshTargetOf(paths: EnginePaths, host: Host, vm: VmInfo, opts: { pin?: boolean } = {}): Promise<SshTarget> {
  const name = vm.name;
  if (vm.sshPort === undefined)
    throw new BootcError("SSH_FAILED", `VM "${name}" has no SSH (the image has no sshd)`, `use the serial console: bootc console ${name}`);
  if (vm.effectiveState !== "running")
    throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `start it: bootc start ${name}`);
  const c = host.connection;
  const port = vm.sshPort;
  const knownHostsFile = libvirtVmPaths(paths, name).knownHosts;
  const target: SshTarget = {
    vmName: name,
    port,
    user: vm.sshUser,
    identity: vm.identity,
    knownHosts: knownHostsFile,
    ...(c.local
      ? {}
      : {
          openStream: () => openForward(c, { dir: libvirtRunDir(paths), paths }, port),
        }),
  };
  // Nothing watches a libvirt VM's boot to pin its host key (bootc run and start do, as they
  // wait): a VM booted otherwise (the web console, virsh) is pinned at its first use.
  if (
    opts.pin !== false &&
    !(await stat(knownHostsFile).then(
      () => true,
      () => false,
    ))
  ) {
    await sshExec(target, "true", { learn: true, timeoutMs: 20_000 }).catch((e: Error) => {
      throw new BootcError("SSH_FAILED", `VM "${name}" does not answer SSH yet (${e.message})`, `wait for it to finish booting (bootc logs ${name})`);
    });
  }
  return target;
}

/** The serial console: the domain's console socket, directly or through an SSH tunnel. */
export async function attachSerial(paths: EnginePaths, host: Host, vm: VmInfo): Promise<ConsoleAttachment> {
  const name = vm.name;
  if (vm.effectiveState !== "running")
    throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.effectiveState})`, `start it: bootc start ${name}`);
  const c = host.connection;
  const files = await existingHostFiles(host, name);
  const tunnel = c.local ? undefined : await openTunnel(c, { dir: libvirtRunDir(paths), paths }, { socket: files.serialSocket });
  const socket = net.connect(tunnel?.path ?? files.serialSocket);
  socket.once("close", () => tunnel?.close());
  await new Promise<void>((resolve, reject) =>
    socket
      .once("connect", resolve)
      .once("error", (e) => reject(new BootcError("VM_NOT_RUNNING", `the serial console of "${name}" cannot be reached: ${e.message}`))),
  );
  return { socket, replayBytes: 0 };
}

/** The last `maxBytes` of the serial log, which libvirt keeps on its host. */
export async function readSerialLog(paths: EnginePaths, host: Host, name: string, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const c = host.connection;
  const files = await existingHostFiles(host, name);
  if (!c.local) {
    const r = await hostExec(c, { dir: libvirtRunDir(paths), paths }, `tail -c ${maxBytes + 1} ${files.serialLog} 2>/dev/null || true`);
    return { text: r.stdout.length > maxBytes ? r.stdout.slice(1) : r.stdout, truncated: r.stdout.length > maxBytes };
  }
  return readTail(files.serialLog, maxBytes);
}

/** Follows the serial log while `running()`: the file itself on this host, read on by `tail` through SSH on another. */
export async function followSerialLog(
  paths: EnginePaths,
  host: Host,
  name: string,
  out: Writable,
  running: () => Promise<boolean>,
  signal?: AbortSignal,
): Promise<void> {
  const c = host.connection;
  const files = await existingHostFiles(host, name);
  if (c.local) {
    await followFile(files.serialLog, out, { signal, more: running });
    return;
  }
  let offset = 0;
  for (;;) {
    const r = await hostExec(c, { dir: libvirtRunDir(paths), paths }, `tail -c +${offset + 1} ${files.serialLog} 2>/dev/null || true`);
    out.write(r.stdout);
    offset += Buffer.byteLength(r.stdout);
    if (signal?.aborted || !(await running())) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
