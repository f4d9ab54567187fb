/**
 * An image's root filesystem, straight from podman storage (no copy): `podman image
 * mount` gives a read-only overlay of the image's layers. Looking inside tells us the
 * kernel, initramfs, whether sshd is there and the guest's systemd version (which
 * credentials it understands).
 */
import { lstat, readdir, readFile, readlink, access } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../core/errors.js";
import type { Command } from "../host/virtiofsd.js";
import { podman } from "../host/podman.js";
import { inNamespace, isRootless, namespacePath, podmanNamespace, type PodmanNamespace } from "../host/userns.js";
import { extractSection, readUki, ukiKernelArgs } from "./uki.js";

/**
 * A mounted image root. `path` is where the processes that serve or copy it see it
 * (virtiofsd, mkfs); `view` is where this process reads it. They differ for rootless
 * podman, whose mounts exist only in its own namespace (engine/images/userns.ts).
 */
export interface ImageRoot {
  path: string;
  view: string;
  /** Rootless: the namespace that `path` is in, which its readers join. */
  userns?: PodmanNamespace;
}

export async function mountImage(imageId: string): Promise<ImageRoot> {
  if (!isRootless()) {
    const mounted = (await podman(["image", "mount", imageId])).trim();
    return { path: mounted, view: mounted };
  }
  // The namespace first: a lookup that fails then leaves no mount behind.
  const userns = await podmanNamespace();
  const mounted = (await podman(["unshare", "podman", "image", "mount", imageId])).trim();
  return { path: mounted, view: namespacePath(userns, mounted), userns };
}

export async function unmountImage(imageId: string): Promise<void> {
  const args = ["image", "unmount", imageId];
  await podman(isRootless() ? ["unshare", "podman", ...args] : args).catch(() => undefined);
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

/** `cmd`, run where the image root's `path` is: in podman's namespace for a rootless user. */
export async function onImageRoot(root: ImageRoot, cmd: Command): Promise<Command> {
  return root.userns ? inNamespace(root.userns, cmd) : cmd;
}

export interface BootFiles {
  kver: string;
  kernel: string;
  initrd: string;
  /** A UKI-only image: the UKI, and the arguments of its embedded command line to keep. */
  uki?: { file: string; kernelArgs: string[] };
}

/** The UKI of a kernel version: /usr/lib/modules/<kver>/*.efi, else /boot/EFI/Linux/*.efi. */
async function findUki(rootfs: string, kver: string): Promise<string | undefined> {
  for (const dir of [path.join("usr/lib/modules", kver), "boot/EFI/Linux"]) {
    const names = (await readdir(path.join(rootfs, dir)).catch(() => [] as string[])).filter((n) => n.endsWith(".efi")).sort();
    const pick = names.find((n) => n === `${kver}.efi`) ?? names.find((n) => n.includes(kver)) ?? (dir.startsWith("boot") ? names[0] : undefined);
    if (pick) return path.join(rootfs, dir, pick);
  }
  return undefined;
}

/**
 * Finds /usr/lib/modules/<kver>/{vmlinuz,initramfs.img} (the bootc layout), or for an
 * image with only a unified kernel image, its UKI: with `extractTo`, the kernel and
 * initramfs are taken out of it into that directory; without, the UKI is only checked.
 */
/**
 * Resolves `rel` inside the image as the guest would see it: symbolic links are followed
 * with the image's root as "/" (an absolute link, `..` at the top) and never lead out of
 * it. The image is untrusted, and qemu opens the kernel and initramfs on the host: a link to
 * a host path must not have it load a host file — a private key as the "initramfs" — into
 * the guest. Returns the host path of the regular file it names, or undefined.
 */
export async function resolveInImage(rootfs: string, rel: string): Promise<string | undefined> {
  const pending = rel.split("/").filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === ".") continue;
    if (part === "..") {
      done.pop();
      continue;
    }
    const here = path.join(rootfs, ...done, part);
    const st = await lstat(here).catch(() => undefined);
    if (!st) return undefined;
    if (st.isSymbolicLink()) {
      if (++links > 40) return undefined;
      const target = await readlink(here);
      if (target.startsWith("/")) done.length = 0;
      pending.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    done.push(part);
    if (pending.length && !st.isDirectory()) return undefined;
  }
  const file = path.join(rootfs, ...done);
  return done.length && (await lstat(file)).isFile() ? file : undefined;
}

export async function findBootFiles(rootfs: string, imageRef: string, extractTo?: string): Promise<BootFiles> {
  const modules = path.join(rootfs, "usr/lib/modules");
  const kvers = await readdir(modules).catch(() => [] as string[]);
  for (const kver of kvers.sort().reverse()) {
    const kernel = await resolveInImage(rootfs, `usr/lib/modules/${kver}/vmlinuz`);
    const initrd = await resolveInImage(rootfs, `usr/lib/modules/${kver}/initramfs.img`);
    if (kernel && initrd) return { kver, kernel, initrd };
  }
  for (const kver of kvers.sort().reverse()) {
    const found = await findUki(rootfs, kver);
    const file = found && (await resolveInImage(rootfs, path.relative(rootfs, found)));
    if (!file) continue;
    const parts = await readUki(file);
    const uki = { file, kernelArgs: ukiKernelArgs(parts.cmdline) };
    if (!extractTo) return { kver, kernel: file, initrd: file, uki };
    const kernel = path.join(extractTo, "uki-vmlinuz");
    const initrd = path.join(extractTo, "uki-initrd.img");
    await extractSection(file, parts.linux, kernel);
    await extractSection(file, parts.initrd, initrd);
    return { kver, kernel, initrd, uki };
  }
  throw new BootcError(
    "IMAGE_NOT_BOOTABLE",
    `image "${imageRef}" has no kernel: expected /usr/lib/modules/<kver>/vmlinuz and initramfs.img, or a unified kernel image (/usr/lib/modules/<kver>/<kver>.efi, /boot/EFI/Linux/*.efi)`,
    "is this a bootc image? Build one (bootc demo build) or add a kernel and a dracut initramfs with the virtiofs module",
  );
}

/** systemd's version from libsystemd-shared-NNN.so, or undefined if not found. */
export async function guestSystemdVersion(rootfs: string): Promise<number | undefined> {
  for (const dir of ["usr/lib/systemd", "usr/lib64/systemd", "usr/lib/x86_64-linux-gnu/systemd", "usr/lib/aarch64-linux-gnu/systemd"]) {
    const names = await readdir(path.join(rootfs, dir)).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^libsystemd-shared-(\d+)/.exec(n);
      if (m?.[1]) return Number(m[1]);
    }
  }
  return undefined;
}

/** True when the image has sshd and does not mask its unit (then nobody waits for SSH that never comes). */
export async function hasSshd(rootfs: string): Promise<boolean> {
  if (!(await exists(path.join(rootfs, "usr/sbin/sshd"))) && !(await exists(path.join(rootfs, "usr/bin/sshd")))) return false;
  for (const unit of ["ssh.service", "sshd.service"]) {
    const target = await readlink(path.join(rootfs, "etc/systemd/system", unit)).catch(() => undefined);
    if (target === "/dev/null") return false;
  }
  return true;
}

/** The image's user names (/etc/passwd, and /usr/lib/passwd of images that use nss-altfiles). */
export async function imageUsers(rootfs: string): Promise<string[]> {
  const names = new Set<string>();
  for (const file of ["etc/passwd", "usr/lib/passwd"]) {
    const text = await readFile(path.join(rootfs, file), "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      const name = line.split(":")[0];
      if (name) names.add(name);
    }
  }
  return [...names];
}

export interface GuestFacts extends BootFiles {
  systemd: number | undefined;
  sshd: boolean;
  users: string[];
}

export async function readGuestFacts(rootfs: string, imageRef: string, extractTo?: string): Promise<GuestFacts> {
  const boot = await findBootFiles(rootfs, imageRef, extractTo);
  return { ...boot, systemd: await guestSystemdVersion(rootfs), sshd: await hasSshd(rootfs), users: await imageUsers(rootfs) };
}
