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

/** The pid in a test pool's name (bce-test-PID), when that is what the name is. */
const poolPid = (name: string) => Number(/^bce-test-(\d+)$/.exec(name)?.[1] ?? NaN);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const names = async (args: string[]) =>
  (await virsh(args)).stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => Boolean(n));

/**
 * What a test run that was killed left in libvirt (its afterAll never ran): domains whose
 * disks are in a test pool whose process is gone, then those pools. Only called with the
 * lock held, so no other test run is using a pool; a pool of a live process is left alone.
 * Without this, the next run's VMs of the same names are refused ("already exists").
 */
async function clearKilledRuns(): Promise<void> {
  const stale = (await names(["pool-list", "--all", "--name"])).filter((p) => Number.isInteger(poolPid(p)) && !alive(poolPid(p)));
  if (stale.length === 0) return;
  for (const dom of await names(["list", "--all", "--name"])) {
    const xml = (await virsh(["dumpxml", dom])).stdout;
    if (!stale.some((p) => xml.includes(`/var/tmp/${p}/`))) continue;
    await virsh(["destroy", dom]);
    await virsh(["undefine", "--nvram", dom]);
  }
  for (const p of stale) {
    await virsh(["pool-start", p]);
    for (const v of await names(["vol-list", p])) await virsh(["vol-delete", "--pool", p, v]);
    await virsh(["pool-destroy", p]);
    await virsh(["pool-delete", p]);
    await virsh(["pool-undefine", p]);
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
  await clearKilledRuns();
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
      for (const v of await names(["vol-list", pool])) await virsh(["vol-delete", "--pool", pool, v]);
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
