/**
 * The baseline: boot the demo image with a hand-written qemu + virtiofsd command line, no
 * engine involved — image root from `podman image mount`, kernel and initramfs from the
 * image, an SSH key injected as an SMBIOS systemd credential. The plain-qemu boot test
 * and the boot benchmark both use it; the engine is measured against it. An arm64 image
 * boots under qemu-system-aarch64 the same way (virt, GICv3), its credential through fw_cfg
 * (no SMBIOS without firmware) and its kernel unpacked as the engine unpacks it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { freePort } from "./harness.js";

export interface PlainBoot {
  firstSerialByteMs?: number;
  sshReadyMs?: number;
  /** CPU time qemu used up to SSH-ready (user + system): the boot's cost, much less swayed by the host's load than the wall time. */
  qemuCpuMs?: number;
  unameR?: string;
  serial: string;
  /** What the guest wrote to its virtio console (console "hvc0" only). */
  virtioConsole: string;
  after: string[];
}

export interface PlainBootOptions {
  timeoutMs?: number;
  memoryMiB?: number;
  /** virtiofsd's cache mode for the root share (default auto, the engine's old choice). */
  cache?: "auto" | "always" | "none";
  /** Extra kernel command-line arguments. */
  append?: string[];
  /** The -accel value (default tcg,thread=single). */
  accel?: string;
  smp?: number;
  /** The -cpu value (default: qemu's own model on x86_64; max,pauth-impdef=on on arm64, as the engine). */
  cpu?: string;
  /** The x86_64 -machine value (default q35). */
  machine?: string;
  /** More devices (-device values), e.g. what libvirt adds to a domain by default. */
  devices?: string[];
  /** The guest's architecture (default x86_64); aarch64 boots with qemu-system-aarch64. */
  arch?: "x86_64" | "aarch64";
  /** Another initramfs than the image's own. */
  initrd?: string;
  /** Commands run over SSH once it answers; their output is returned. */
  after?: string[];
  /**
   * Where the kernel console goes (default ttyS0, the emulated UART). hvc0: a virtio console
   * (written to a file beside), the login prompt kept on ttyS0.
   */
  console?: "ttyS0" | "hvc0";
}

/** A process's CPU time so far (utime + stime from /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /, "")
      .split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

export async function plainQemuBoot(image: string, opts: PlainBootOptions = {}): Promise<PlainBoot> {
  const dir = mkdtempSync("/tmp/bce-plain-");
  const key = path.join(dir, "key");
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
  const pub = readFileSync(`${key}.pub`, "utf8").trim();
  const tmpfiles = `d /root/.ssh 0700 root root -\nf+~ /root/.ssh/authorized_keys 0600 root root - ${Buffer.from(pub + "\n").toString("base64")}\n`;
  const rootfs = (await execa("podman", ["image", "mount", image])).stdout.trim();
  const children: ResultPromise[] = [];
  const result: PlainBoot = { serial: "", virtioConsole: "", after: [] };
  const hvcLog = path.join(dir, "hvc0.log");
  const virtioConsole =
    opts.console === "hvc0" ? ["-device", "virtio-serial-pci", "-chardev", `file,id=hvc0,path=${hvcLog}`, "-device", "virtconsole,chardev=hvc0"] : [];
  const arm = opts.arch === "aarch64";
  const uart = arm ? "ttyAMA0" : "ttyS0";
  const consoleArgs =
    opts.console === "hvc0" ? ["console=hvc0", `systemd.wants=serial-getty@${uart}.service`, "systemd.mask=serial-getty@hvc0.service"] : [`console=${uart}`];
  try {
    const kver = readdirSync(path.join(rootfs, "usr/lib/modules"))[0]!;
    const mod = path.join(rootfs, "usr/lib/modules", kver);
    const sock = path.join(dir, "vfs.sock");
    children.push(
      execa("/usr/lib/qemu/virtiofsd", [`--socket-path=${sock}`, "-o", `source=${rootfs}`, "-o", `cache=${opts.cache ?? "auto"}`], {
        reject: false,
        stdio: "ignore",
      }),
    );
    for (let i = 0; i < 100 && !readdirSync(dir).includes("vfs.sock"); i++) await new Promise((r) => setTimeout(r, 50));
    const port = await freePort();
    const mem = opts.memoryMiB ?? 2048;
    // The kernel: an arm64 one unpacked as the engine unpacks it (engine/images/kernel.ts).
    const kernel = arm
      ? (await (await import("../../dist/engine/images/kernel.js")).loadableKernel(path.join(mod, "vmlinuz"), "aarch64", dir)).path
      : path.join(mod, "vmlinuz");
    const machine = arm
      ? ["-machine", "virt,gic-version=3", "-cpu", opts.cpu ?? "max,pauth-impdef=on"]
      : ["-machine", opts.machine ?? "q35", ...(opts.cpu ? ["-cpu", opts.cpu] : [])];
    // The credential: SMBIOS on x86_64; an arm64 direct-kernel boot has no SMBIOS, so fw_cfg (a file qemu reads).
    const credential = path.join(dir, "tmpfiles.extra");
    if (arm) writeFileSync(credential, tmpfiles);
    const credentialArgs = arm
      ? ["-fw_cfg", `name=opt/io.systemd.credentials/tmpfiles.extra,file=${credential}`]
      : ["-smbios", `type=11,value=io.systemd.credential.binary:tmpfiles.extra=${Buffer.from(tmpfiles).toString("base64")}`];
    const t0 = Date.now();
    const qemu = execa(
      arm ? "qemu-system-aarch64" : "qemu-system-x86_64",
      [
        ...machine,
        ...(opts.devices ?? []).flatMap((d) => ["-device", d]),
        "-accel",
        opts.accel ?? "tcg,thread=single",
        "-smp",
        String(opts.smp ?? 2),
        "-m",
        `${mem}M`,
        "-object",
        `memory-backend-memfd,id=mem,size=${mem}M,share=on`,
        "-numa",
        "node,memdev=mem",
        "-nodefaults",
        "-display",
        "none",
        "-no-user-config",
        "-kernel",
        kernel,
        "-initrd",
        opts.initrd ?? path.join(mod, "initramfs.img"),
        "-append",
        [...consoleArgs, "root=virtiofs:rootfs", "rw", "systemd.volatile=overlay", ...(opts.append ?? [])].join(" "),
        "-chardev",
        `socket,id=fs0,path=${sock}`,
        "-device",
        "vhost-user-fs-pci,chardev=fs0,tag=rootfs",
        "-netdev",
        `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22`,
        "-device",
        "virtio-net-pci,netdev=net0",
        "-device",
        "virtio-rng-pci",
        ...credentialArgs,
        ...virtioConsole,
        "-serial",
        "stdio",
      ],
      { reject: false, stdin: "ignore", buffer: false },
    );
    children.push(qemu);
    qemu.stdout?.on("data", (d: Buffer) => {
      result.firstSerialByteMs ??= Date.now() - t0;
      result.serial += d.toString();
    });
    const deadline = t0 + (opts.timeoutMs ?? 600_000);
    while (Date.now() < deadline && qemu.exitCode === null) {
      const ssh = (command: string[], timeout = 20_000) =>
        execa(
          "ssh",
          [
            "-q",
            "-i",
            key,
            "-p",
            String(port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-o",
            "BatchMode=yes",
            "root@127.0.0.1",
            ...command,
          ],
          { reject: false, timeout },
        );
      const r = await ssh(["uname", "-r"]);
      if (r.exitCode === 0) {
        result.sshReadyMs = Date.now() - t0;
        result.qemuCpuMs = cpuMs(qemu.pid);
        result.unameR = r.stdout.trim();
        for (const c of opts.after ?? []) result.after.push((await ssh(["sh", "-c", c], 120_000)).stdout);
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    if (opts.console === "hvc0") result.virtioConsole = readFileSync(hvcLog, "utf8");
    return result;
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await Promise.allSettled(children);
    await execa("podman", ["image", "unmount", image], { reject: false });
    rmSync(dir, { recursive: true, force: true });
  }
}
