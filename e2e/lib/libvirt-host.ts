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
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { tryLock, unlock } from "../../engine/core/lockfile.js";
import { freePort, tempDir, waitUntil } from "./harness.js";

/** Held by the test process using this machine's libvirt; stale (and taken over) once that process is gone. */
const LOCK = "/tmp/bootc-e2e-libvirt.lock";

const virsh = (args: string[]) => execa("virsh", ["-q", "-c", "qemu:///system", ...args], { reject: false });

async function daemonAnswers(): Promise<boolean> {
  return (await execa("virsh", ["-c", "qemu:///system", "version"], { reject: false, timeout: 10_000 })).exitCode === 0;
}

function startChild(file: string, args: string[]): ChildProcess {
  const child = spawn(file, args, { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr?.on("data", () => undefined);
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
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

/**
 * sshd on 127.0.0.1:PORT accepting one throwaway key for root. Its host key is added to
 * root's known_hosts (libvirt's ssh reads only that one) and taken out again at stop().
 */
export async function startSshServer(): Promise<SshServer> {
  const dir = tempDir("bce-sshd-");
  const port = await freePort();
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_key")]);
  writeFileSync(path.join(dir, "authorized_keys"), readFileSync(path.join(dir, "client_key.pub")));
  writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PidFile none",
      "AllowTcpForwarding yes",
      "AllowStreamLocalForwarding yes",
      "",
    ].join("\n"),
  );
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = startChild("/usr/sbin/sshd", ["-D", "-e", "-f", path.join(dir, "sshd_config")]);
  const knownHosts = path.join(process.env.HOME ?? "/root", ".ssh", "known_hosts");
  mkdirSync(path.dirname(knownHosts), { recursive: true, mode: 0o700 });
  const hostKey = readFileSync(path.join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`, { flag: "a", mode: 0o600 });
  await waitUntil(
    "sshd answers",
    async () =>
      (await execa("ssh", ["-i", path.join(dir, "client_key"), "-p", String(port), "-o", "BatchMode=yes", "root@127.0.0.1", "true"], { reject: false }))
        .exitCode === 0
        ? true
        : undefined,
    30_000,
    300,
  );
  return {
    port,
    uri: `qemu+ssh://root@127.0.0.1:${port}/system?keyfile=${dir}/client_key`,
    async stop() {
      await stopChild(sshd);
      await execa("ssh-keygen", ["-R", `[127.0.0.1]:${port}`, "-f", knownHosts], { reject: false });
    },
  };
}
