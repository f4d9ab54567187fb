/**
 * `bootc doctor`: one row per requirement, each saying what was found and, when something
 * is wrong, how to fix it. Hard requirements make the report fail (CLI exit 1).
 */
import { readFile, stat, statfs } from "node:fs/promises";
import os from "node:os";
import { execa } from "execa";
import { detectAccel } from "../host/accel.js";
import { findFirmware, findOnPath, findQemu, findVirtiofsd, hostArch, installHint, type HostArch } from "../host/tools.js";
import { ARCH_PROFILES, podmanArchName, type GuestArch } from "../host/arch.js";
import { enginePaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { PROBE_IMAGE } from "../images/probe.js";
import { isRootless } from "../host/userns.js";
import { libvirtRows } from "../runtime/libvirt/doctor.js";
import type { DoctorRow, RowStatus } from "../host/doctor-row.js";

export type { DoctorRow, RowStatus } from "../host/doctor-row.js";

export interface DoctorReport {
  ok: boolean;
  rows: DoctorRow[];
}

type Check = (env: NodeJS.ProcessEnv, platform: NodeJS.Platform) => Promise<DoctorRow>;

const row = (r: DoctorRow) => r;
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

const checkPodman: Check = async (env, platform) => {
  const base = { id: "podman", name: "podman", required: true };
  const bin = findOnPath("podman", env);
  if (!bin) return row({ ...base, status: "fail", detail: "not found on PATH", fix: installHint("podman", platform) });
  const info = await execa(bin, ["info", "--format", "json"], { reject: false, env, timeout: 60_000 });
  if (info.exitCode !== 0) {
    const fix =
      platform === "darwin"
        ? "start the podman machine: podman machine start (podman machine init first if there is none)"
        : "run bootc setup to configure podman";
    return row({ ...base, status: "fail", detail: `podman info failed: ${info.stderr.trim()}`, fix });
  }
  const i = JSON.parse(info.stdout) as {
    host?: { security?: { rootless?: boolean }; ociRuntime?: { name?: string } };
    store?: { graphDriverName?: string };
    version?: { Version?: string };
  };
  const mode = i.host?.security?.rootless ? "rootless" : "rootful";
  const facts = `${i.version?.Version ?? "?"}, ${mode}, storage ${i.store?.graphDriverName ?? "?"}, runtime ${i.host?.ociRuntime?.name ?? "?"}`;
  const probe = await execa(bin, ["image", "exists", PROBE_IMAGE], { reject: false, env });
  if (probe.exitCode !== 0) {
    return row({
      ...base,
      status: "warn",
      detail: `${facts}; running a container not tested (no ${PROBE_IMAGE} image)`,
      fix: "run bootc setup, which creates the probe image and configures podman",
    });
  }
  const run = await execa(bin, ["run", "--rm", "--network=none", PROBE_IMAGE, "/bin/busybox", "true"], { reject: false, env, timeout: 120_000 });
  if (run.exitCode !== 0) {
    return row({
      ...base,
      status: "fail",
      detail: `${facts}; cannot run a container: ${run.stderr.trim().split("\n").pop()}`,
      fix: "run bootc setup: it configures the runc runtime and low ulimits where crun cannot run",
    });
  }
  return row({ ...base, status: "ok", detail: `${facts}; runs containers` });
};

const checkQemu: Check = async (env, platform) => {
  const base = { id: "qemu", name: "qemu", required: true };
  let bin: string;
  try {
    bin = findQemu(env);
  } catch (e) {
    return row({ ...base, status: "fail", detail: errText(e), fix: installHint("qemu", platform) });
  }
  const v = await execa(bin, ["--version"], { reject: false, env });
  const version = /version ([\d.]+)/.exec(v.stdout)?.[1] ?? "unknown version";
  return row({ ...base, status: "ok", detail: `${bin} ${version}` });
};

const checkQemuImg: Check = async (env, platform) => {
  const base = { id: "qemu-img", name: "qemu-img", required: true };
  const bin = findOnPath("qemu-img", env);
  if (!bin) return row({ ...base, status: "fail", detail: "not found on PATH", fix: installHint("qemu-img", platform) });
  return row({ ...base, status: "ok", detail: bin });
};

const checkVirtiofsd: Check = async (env, platform) => {
  const base = { id: "virtiofsd", name: "virtiofsd", required: true };
  try {
    const v = await findVirtiofsd(env);
    const style = v.flavour === "c" ? "C, -o source=DIR" : "Rust, --shared-dir DIR";
    return row({ ...base, status: "ok", detail: `${v.path} ${v.version} (${style})` });
  } catch (e) {
    return row({ ...base, status: "fail", detail: errText(e), fix: installHint("virtiofsd", platform) });
  }
};

const checkFirmware: Check = async (_env, platform) => {
  const base = { id: "firmware", name: "UEFI firmware", required: false };
  const fw = findFirmware(hostArch(), platform);
  if (!fw) return row({ ...base, status: "warn", detail: "not found (needed only for disk mode and premade disks)", fix: installHint("firmware", platform) });
  return row({ ...base, status: "ok", detail: `${fw.code} + ${fw.vars}` });
};

/**
 * A row for each other architecture's emulator and UEFI firmware found here: what lets this
 * host boot arm64 images (or amd64 ones on an arm64 host), emulated. Nothing is said of what
 * is absent: booting such an image names the package then, and most hosts never need one.
 * BOOTC_QEMU names one emulator for every architecture, so it is not taken for another's.
 */
export async function foreignArchRows(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
  host: HostArch = hostArch(),
): Promise<DoctorRow[]> {
  const rows: DoctorRow[] = [];
  for (const arch of Object.keys(ARCH_PROFILES) as GuestArch[]) {
    if (arch === host) continue;
    const who = `${podmanArchName(arch)} guests`;
    const bin = findOnPath(ARCH_PROFILES[arch].qemuBinary, env);
    if (bin) {
      const v = await execa(bin, ["--version"], { reject: false, env });
      const version = /version ([\d.]+)/.exec(v.stdout)?.[1] ?? "unknown version";
      rows.push({ id: `qemu-${arch}`, name: `qemu (${who})`, required: false, status: "ok", detail: `${bin} ${version}, emulated under TCG` });
    }
    const fw = findFirmware(arch, platform);
    if (fw) rows.push({ id: `firmware-${arch}`, name: `UEFI firmware (${who})`, required: false, status: "ok", detail: `${fw.code} + ${fw.vars}` });
  }
  return rows;
}

/** How this user gets to open /dev/kvm: join its group, or (root's alone) have it given one. */
async function kvmAccessFix(): Promise<string> {
  const user = os.userInfo().username;
  const st = await stat("/dev/kvm").catch(() => undefined);
  const groups = await readFile("/etc/group", "utf8").catch(() => "");
  const group = groups
    .split("\n")
    .find((l) => l.split(":")[2] === String(st?.gid))
    ?.split(":")[0];
  if (st && st.gid !== 0 && st.mode & 0o060 && group)
    return `add yourself to the group that owns /dev/kvm (sudo usermod -aG ${group} ${user}), then log in again`;
  return `/dev/kvm is root's alone (mode ${((st?.mode ?? 0) & 0o777).toString(8)}): give it to a kvm group with mode 0660 (the udev rule distributions ship: sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm), then sudo usermod -aG kvm ${user} and log in again`;
}

const checkAccel: Check = async (env) => {
  const base = { id: "accel", name: "accelerator", required: false };
  const choice = await detectAccel(undefined, env);
  const status: RowStatus = choice.accel === "tcg" ? "warn" : "ok";
  const fix =
    choice.kvm === "no-access"
      ? await kvmAccessFix()
      : choice.kvm === "pvm-only"
        ? "nothing to fix: guests run under TCG here (about a minute to boot a systemd guest)"
        : choice.accel === "tcg"
          ? "enable hardware virtualisation (KVM on Linux, HVF on macOS) for fast guests"
          : undefined;
  return row({ ...base, status, detail: `${choice.accel.toUpperCase()}: ${choice.reason}`, ...(fix ? { fix } : {}) });
};

/** Whether /etc/subuid (or subgid) gives this user a range: by name or by uid. */
async function hasSubordinateRange(file: string, user: { username: string; uid: number }): Promise<boolean> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.split("\n").some((line) => {
    const [owner, , count] = line.split(":");
    return (owner === user.username || owner === String(user.uid)) && Number(count) > 0;
  });
}

/**
 * Rootless podman (a regular user on Linux): images live in a user namespace made with the
 * user's subordinate ids, by newuidmap/newgidmap; bootc-console joins it with nsenter.
 */
const checkRootless: Check = async (env) => {
  const base = { id: "rootless", name: "rootless podman", required: true };
  const user = os.userInfo();
  const missing = [
    ...["newuidmap", "newgidmap"].filter((t) => !findOnPath(t, env)).map((t) => `${t} (package uidmap)`),
    ...(findOnPath("nsenter", env) ? [] : ["nsenter (package util-linux)"]),
  ];
  if (missing.length)
    return row({
      ...base,
      status: "fail",
      detail: `missing ${missing.join(", ")}`,
      fix: "install uidmap and util-linux (apt-get install uidmap / dnf install shadow-utils util-linux)",
    });
  const ranges = await Promise.all(["/etc/subuid", "/etc/subgid"].map(async (f) => ((await hasSubordinateRange(f, user)) ? undefined : f)));
  const lacking = ranges.filter(Boolean);
  if (lacking.length) {
    return row({
      ...base,
      status: "fail",
      detail: `no range for ${user.username} in ${lacking.join(" and ")}`,
      fix: `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user.username}, then podman system migrate`,
    });
  }
  return row({
    ...base,
    status: "ok",
    detail: `subordinate ids for ${user.username}, newuidmap, nsenter; shares and the image are served as root of podman's namespace`,
  });
};

const simpleTool =
  (id: string, name: string, required: boolean, use: string): Check =>
  async (env, platform) => {
    const bin = findOnPath(id, env);
    if (!bin) return row({ id, name, required, status: required ? "fail" : "warn", detail: `not found (${use})`, fix: installHint(id, platform) });
    return row({ id, name, required, status: "ok", detail: bin });
  };

const checkDisk: Check = async (env) => {
  const base = { id: "disk", name: "free disk (cache)", required: false };
  const dir = enginePaths(env).cache;
  try {
    await ensurePrivateDir(dir, enginePaths(env));
    const s = await statfs(dir);
    const freeGiB = (s.bavail * s.bsize) / 2 ** 30;
    const detail = `${freeGiB.toFixed(1)} GiB free in ${dir}`;
    return freeGiB < 5
      ? row({ ...base, status: "warn", detail, fix: "free some space: base disks need several GiB each (bootc disks prune)" })
      : row({ ...base, status: "ok", detail });
  } catch (e) {
    return row({ ...base, status: "warn", detail: `cannot check ${dir}: ${errText(e)}` });
  }
};

const sshTools = [simpleTool("ssh", "ssh client", true, "bootc ssh"), simpleTool("ssh-keygen", "ssh-keygen", true, "per-VM SSH keys")];
const checkPasst = simpleTool(
  "passt",
  "passt",
  false,
  "guests' outbound network that does not reach the host's loopback; without it they get none unless --allow-host-loopback",
);
const checkXorriso = simpleTool("xorriso", "xorriso", false, "cloud-init seed ISOs");
const checkMtools = simpleTool(
  "mcopy",
  "mtools (mcopy)",
  false,
  "credentials on a UEFI disk's EFI system partition (--credentials-via esp, the way for vfkit, which has no SMBIOS)",
);
const checkVfkit = simpleTool("vfkit", "vfkit", false, "VMs under Apple's Virtualization framework (docs/macos.md; the qemu + HVF path needs none)");

/** Linux: the direct runtime's whole tool set (virtiofsd and passt are Linux programs). */
export const CHECKS: Check[] = [
  checkPodman,
  checkQemu,
  checkQemuImg,
  checkVirtiofsd,
  checkFirmware,
  checkAccel,
  ...sshTools,
  checkPasst,
  checkXorriso,
  checkMtools,
  checkDisk,
];

/**
 * macOS (docs/macos.md; not run on a Mac yet): images live in a podman machine, VMs run under
 * qemu with HVF or under vfkit, all from Homebrew. No virtiofsd (Linux only: vfkit serves
 * virtio-fs itself), no passt, no rootless set-up (the podman machine has its own).
 */
export const MACOS_CHECKS: Check[] = [
  checkPodman,
  checkQemu,
  checkQemuImg,
  checkFirmware,
  checkAccel,
  checkVfkit,
  ...sshTools,
  checkXorriso,
  checkMtools,
  checkDisk,
];

/** The checks for a host: macOS's or Linux's, with a regular Linux user's rootless set-up right after podman. */
export function doctorChecks(platform: NodeJS.Platform, rootless: boolean): Check[] {
  if (platform === "darwin") return MACOS_CHECKS;
  return rootless ? CHECKS.flatMap((c) => (c === checkPodman ? [c, checkRootless] : [c])) : CHECKS;
}

export async function runDoctor(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<DoctorReport> {
  const checks = doctorChecks(platform, platform !== "darwin" && isRootless());
  const rows = [
    ...(await Promise.all(checks.map((check) => check(env, platform)))),
    ...(await foreignArchRows(env, platform)),
    ...(await libvirtRows(enginePaths(env), env)),
  ];
  return { ok: rows.every((r) => !(r.required && r.status === "fail")), rows };
}
