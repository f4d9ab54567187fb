/**
 * A libvirt host for the libvirt runtime's tests, started here because nothing else starts
 * daemons on these machines (PID 1 is not systemd): virtlogd and libvirtd in the
 * foreground as children of the test (so the test owns them and ends them), a storage pool
 * of the test's own, and an OpenSSH server on 127.0.0.1 with a throwaway host key that
 * makes the same machine a "remote" libvirt host over qemu+ssh.
 * A libvirtd that already runs (a developer's) is used and left running.
 * Test files run side by side (e2e/vitest.config.ts, and the browser tests beside them):
 * the libvirt tests take turns through a lock file, held from startLibvirt() to stop(), as
 * the daemon they start, restart and stop is this machine's one qemu:///system.
 */
import type { ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, readFileSync, statSync } from "node:fs";
import { execa } from "execa";
import { tryLock, unlock } from "../../engine/core/lockfile.js";
import { waitUntil } from "./harness.js";
import { startChild, startLoopbackSshd, stopChild } from "./loopback-sshd.js";

/** Held by the test process using this machine's libvirt; stale (and taken over) once that process is gone. */
const LOCK = "/tmp/bootc-e2e-libvirt.lock";

const virsh = (args: string[]) => execa("virsh", ["-q", "-c", "qemu:///system", ...args], { reject: false });

async function daemonAnswers(): Promise<boolean> {
  return (await execa("virsh", ["-c", "qemu:///system", "version"], { reject: false, timeout: 10_000 })).exitCode === 0;
}

/**
 * Without udev (no systemd here), /dev/kvm keeps the kernel's root-only mode. libvirt probes
 * qemu as root, with KVM, then finds /dev/kvm unusable for its qemu user and throws the
 * probe away — on every API call (8–14 s each). Debian's udev rule gives the device to
 * group kvm, mode 0660; the same here.
 */
function groupId(name: string): number | undefined {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return line ? Number(line.split(":")[2]) : undefined;
}

function giveKvmToGroup(): void {
  if (!existsSync("/dev/kvm")) return;
  const gid = groupId("kvm");
  if (gid === undefined) return;
  const st = statSync("/dev/kvm");
  if (st.gid !== gid) chownSync("/dev/kvm", 0, gid);
  if ((st.mode & 0o777) !== 0o660) chmodSync("/dev/kvm", 0o660);
}

export interface LibvirtHost {
  pool: string;
  /** Stops libvirtd and starts it again (domains keep running; libvirt must find them again). */
  restartLibvirtd(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLibvirt(): Promise<LibvirtHost> {
  await waitUntil(`the other libvirt tests to finish (lock file ${LOCK})`, async () => ((await tryLock(LOCK)) ? true : undefined), 14 * 60_000, 1000);
  try {
    return await startLocked();
  } catch (e) {
    await unlock(LOCK);
    throw e;
  }
}

async function startLocked(): Promise<LibvirtHost> {
  giveKvmToGroup();
  let virtlogd: ChildProcess | undefined;
  let libvirtd: ChildProcess | undefined;
  const ours = !(await daemonAnswers());
  const startLibvirtd = async () => {
    libvirtd = startChild("/usr/sbin/libvirtd", []);
    await waitUntil("libvirtd answers", async () => ((await daemonAnswers()) ? true : undefined), 60_000, 300);
  };
  if (ours) {
    virtlogd = startChild("/usr/sbin/virtlogd", []);
    await startLibvirtd();
  }
  const pool = `bce-test-${process.pid}`;
  const dir = `/var/tmp/${pool}`;
  const r = await virsh(["pool-define-as", pool, "dir", "--target", dir]);
  if (r.exitCode !== 0) throw new Error(`pool-define-as: ${r.stderr}`);
  await virsh(["pool-build", pool]);
  await virsh(["pool-start", pool]);
  return {
    pool,
    async restartLibvirtd() {
      if (!ours) throw new Error("libvirtd was not started by this test");
      await stopChild(libvirtd);
      await startLibvirtd();
    },
    async stop() {
      const vols = (await virsh(["vol-list", pool])).stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/)[0])
        .filter(Boolean);
      for (const v of vols) await virsh(["vol-delete", "--pool", pool, v!]);
      await virsh(["pool-destroy", pool]);
      await virsh(["pool-delete", pool]);
      await virsh(["pool-undefine", pool]);
      if (ours) {
        await stopChild(libvirtd);
        await stopChild(virtlogd);
      }
      await unlock(LOCK);
    },
  };
}

export interface SshServer {
  port: number;
  /** qemu+ssh URI of this machine's libvirt through the server, with the client key. */
  uri: string;
  stop(): Promise<void>;
}

/** sshd on 127.0.0.1:PORT accepting one throwaway key for root (loopback-sshd.ts). */
export async function startSshServer(): Promise<SshServer> {
  const sshd = await startLoopbackSshd({
    user: "root",
    prefix: "bce-sshd-",
    config: ["PermitRootLogin prohibit-password", "AllowTcpForwarding yes", "AllowStreamLocalForwarding yes"],
  });
  return { port: sshd.port, uri: `qemu+ssh://root@127.0.0.1:${sshd.port}/system?keyfile=${sshd.key}`, stop: sshd.stop };
}
