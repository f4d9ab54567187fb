/**
 * Whether a running ephemeral VM can soft-reboot into a new image (keep the kernel and the
 * VM, swap the root: soft-reboot.ts), decided from facts alone so every reason is
 * unit-tested. Each reason is one line a user reads next to "rebooting fully instead".
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import type { GuestFacts } from "../../images/rootfs.js";

/** systemd learned `systemctl soft-reboot` (and switching into /run/nextroot) in version 254. */
export const SOFT_REBOOT_MIN_SYSTEMD = 254;

export interface SoftRebootFacts {
  mode: "ephemeral" | "disk";
  /** The running guest's systemd version, if known. */
  guestSystemd?: number;
  /** The guest answers SSH now (the switch is driven over SSH). */
  sshReady: boolean;
  /** A PCIe root port is free for the new root's device. */
  freePort: boolean;
  /** What the running kernel booted with, and what the new image would boot with (bootIdentity); left out, not compared. */
  current?: BootIdentity;
  next?: BootIdentity;
}

/** What a soft reboot cannot change: the kernel, the initramfs, a UKI's own command line. */
export interface BootIdentity {
  kernel: string;
  initrd: string;
  kernelArgs: string;
}

/** Why the VM cannot soft-reboot into the new image, or undefined when it can. */
export function softRebootBlocker(f: SoftRebootFacts): string | undefined {
  if (f.mode !== "ephemeral") return "a disk-mode VM's root is its disk, not the image";
  if (f.guestSystemd === undefined) return "the guest's systemd version is unknown (soft reboot needs systemd 254 or later)";
  if (f.guestSystemd < SOFT_REBOOT_MIN_SYSTEMD) return `the guest's systemd is ${f.guestSystemd}, older than 254, which added soft-reboot`;
  if (!f.sshReady) return "the guest does not answer SSH, which drives the switch";
  if (!f.freePort) return "no free PCIe root port for the new root (the VM was started before soft reboot existed, or an old root was not released)";
  // The images are compared once both are mounted; the checks above come first, being cheap.
  if (!f.current || !f.next) return undefined;
  if (f.current.kernel !== f.next.kernel) return "the new image has another kernel";
  if (f.current.initrd !== f.next.initrd) return "the new image has another initramfs";
  if (f.current.kernelArgs !== f.next.kernelArgs) return "the new image's unified kernel image has another command line";
  return undefined;
}

async function sha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The boot identity of an image's facts (read without extracting a UKI: its file is both kernel and initramfs). */
export async function bootIdentity(facts: Pick<GuestFacts, "kernel" | "initrd" | "uki">): Promise<BootIdentity> {
  const kernel = await sha256(facts.kernel);
  return {
    kernel,
    initrd: facts.initrd === facts.kernel ? kernel : await sha256(facts.initrd),
    kernelArgs: (facts.uki?.kernelArgs ?? []).join(" "),
  };
}
