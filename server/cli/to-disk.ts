import { EXPORT_FORMATS, exportImageDisk } from "../../engine/disk/export.js";
import { BootcError } from "../../engine/core/errors.js";
import { enginePaths } from "../../engine/core/paths.js";
import { oneOf, parseCommand, printJson, progressLine } from "./output.js";
import { formatOptions, runFlagOptions, runFlagRows, runOptionsFromFlags, type FlagValues, type RunOptionKey } from "./run-flags.js";
import { formatProgress, formatPullProgress } from "./progress.js";
import { podmanFromFlags } from "./podman-flags.js";

/** The run options that say how a disk is made. */
const DISK_OPTIONS: RunOptionKey[] = ["diskSizeBytes", "builder", "filesystem", "pull", "podman"];

const HELP = `Usage: bootc to-disk [options] IMAGE FILE

Writes a bootable disk image of IMAGE to FILE, for other virtualisation tools (libvirt,
virt-manager, a cloud import). It starts from the image's base disk — the one disk mode
uses, from the cache or built now — so a second export of the same image is quick:
- an image with bootc is installed by \`bootc install to-disk\` (its own boot loader);
- otherwise the direct builder's ext4 root gets an EFI system partition with the host's
  systemd-boot, the image's kernel and initramfs: it boots with any UEFI firmware.
FILE appears only when complete (written under a temporary name, then renamed).
An image in another podman (--connection NAME, -r, or CONTAINER_HOST) stays there: its
base disk is built there by the direct builder, as disk mode does, and the file is written
here.

Options (as for bootc run):
${formatOptions([["--format raw|qcow2|vmdk", "the file's format (default qcow2)"], ...runFlagRows(DISK_OPTIONS, false), ["--json", "print the result as JSON (no progress)"]])}

Example:
  bootc to-disk localhost/bootc-demo ./demo.qcow2
  virt-install --import --boot uefi --disk ./demo.qcow2 --memory 2048 --osinfo linux2022`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: { format: { type: "string" }, ...runFlagOptions(DISK_OPTIONS), json: { type: "boolean" } },
    },
    HELP,
  );
  const [image, file, ...extra] = positionals;
  if (!image || !file || extra.length)
    throw new BootcError(
      "INVALID_ARGUMENT",
      extra.length ? `unexpected arguments: ${extra.join(" ")}` : "give an image and a file",
      "usage: bootc to-disk [options] IMAGE FILE",
    );
  const quiet = !!values.json;
  const bar = progressLine(quiet);
  const t0 = Date.now();
  const { diskSizeBytes, podman: given, ...disk } = runOptionsFromFlags(values, DISK_OPTIONS);
  // The podman that has the image: --connection, -r, else CONTAINER_HOST, as podman decides it.
  const podman = podmanFromFlags(given, (values as FlagValues).remote === true);
  const result = await exportImageDisk(enginePaths(), {
    image,
    file,
    format: oneOf("format", typeof values.format === "string" ? values.format : undefined, EXPORT_FORMATS),
    ...disk,
    sizeBytes: diskSizeBytes,
    ...(podman ? { podman } : {}),
    pullHooks: { onProgress: (p) => bar.show(`  pulling ${formatPullProgress(p)}`) },
    onProgress: (p) => bar.show(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s  ${formatProgress(p)}`),
  });
  bar.done();
  if (values.json) {
    printJson(result);
    return 0;
  }
  const mib = Math.round(result.bytes / 1024 / 1024);
  console.log(
    `wrote ${result.file} (${result.format}, ${mib} MiB on disk; ${result.builder} builder, base disk ${result.reused ? "from the cache" : "built now"})`,
  );
  return 0;
}
