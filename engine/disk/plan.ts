/**
 * Checks a disk-mode request before any VM exists and says how its disk will be made:
 * the builder (direct or bootc install, or the user's premade disk), size and filesystem.
 * Bad input (a missing or non-disk file, a disk too small for the image) fails here.
 */
import path from "node:path";
import { access } from "node:fs/promises";
import { BootcError } from "../core/errors.js";
import { DEFAULT_DISK_SIZE } from "../core/schema.js";
import { hostArch, requireFirmware } from "../host/tools.js";
import { podmanArchName, type GuestArch } from "../host/arch.js";
import { mountImage, readGuestFacts, unmountImage } from "../images/rootfs.js";
import { isRootless } from "../host/userns.js";
import type { VmDisk } from "../core/record.js";
import { checkDiskSize, contentSize } from "./direct.js";
import { inspectDisk } from "./overlay.js";

export interface DiskRequest {
  builder: "auto" | "direct" | "install";
  sizeBytes?: number;
  filesystem: string;
  premade?: string;
}

/** `arch`: the guest's, when not the host's (--arch): booted by that architecture's UEFI firmware. */
export async function planPremadeDisk(req: DiskRequest, arch: GuestArch = hostArch()): Promise<VmDisk> {
  const file = path.resolve(req.premade!);
  const info = await inspectDisk(file);
  if (req.sizeBytes !== undefined && req.sizeBytes < info.virtualSize) {
    throw new BootcError(
      "DISK_TOO_SMALL",
      `--disk-size is smaller than the disk ${file} (${info.virtualSize} bytes)`,
      "leave out --disk-size, or give a larger size to grow the VM's disk",
    );
  }
  requireFirmware("to boot a premade disk", arch);
  return { builder: "premade", sizeBytes: req.sizeBytes ?? 0, filesystem: "", premade: file, premadeFormat: info.format };
}

/**
 * `arch`: the image's, when not the host's. `bootc install` would run the image's own bootc
 * in a container of that architecture (qemu-user, a privileged container) and is not built
 * for it: such an image gets the direct builder, whose disk boots its kernel directly.
 */
export async function planImageDisk(req: DiskRequest, image: { ref: string; id: string }, arch: GuestArch = hostArch()): Promise<VmDisk> {
  const foreign = arch !== hostArch();
  if (foreign && req.builder === "install") {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `the install builder cannot make a disk of ${image.ref}, an ${podmanArchName(arch)} image, on this ${podmanArchName(hostArch())} host (bootc install would run emulated in a privileged container: not built)`,
      "use the built-in builder: --builder direct (or leave --builder out)",
    );
  }
  const sizeBytes = req.sizeBytes ?? DEFAULT_DISK_SIZE;
  const root = await mountImage(image.id);
  try {
    const hasBootc = await access(path.join(root.view, "usr/bin/bootc")).then(
      () => true,
      () => false,
    );
    // `bootc install` runs in a privileged container, which rootless podman cannot start.
    const builder = req.builder === "auto" ? (hasBootc && !isRootless() && !foreign ? "install" : "direct") : req.builder;
    if (builder === "install" && isRootless()) {
      throw new BootcError(
        "NEEDS_ROOT",
        "the install builder runs `bootc install` in a privileged container, which rootless podman cannot start",
        "use the built-in builder, which needs no privileges: --builder direct (or run as root)",
      );
    }
    if (builder === "install" && !hasBootc) {
      throw new BootcError(
        "IMAGE_NOT_BOOTABLE",
        `image "${image.ref}" has no bootc, so it cannot install itself`,
        "use the built-in builder: --builder direct",
      );
    }
    if (builder === "install") requireFirmware("to boot an installed disk; --builder direct needs none");
    if (builder === "direct") {
      await readGuestFacts(root.view, image.ref); // the direct builder boots the image's own kernel
      checkDiskSize(sizeBytes, (await contentSize(root)).minimum, image.ref);
    }
    return { builder, sizeBytes, filesystem: req.filesystem };
  } finally {
    await unmountImage(image.id);
  }
}
