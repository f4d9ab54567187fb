import { EXPORT_FORMATS, exportImageDisk } from "../../engine/disk/export.js";
import { BootcError } from "../../engine/core/errors.js";
import { PULL_POLICIES } from "../../engine/images/pull.js";
import { enginePaths } from "../../engine/core/paths.js";
import { parseSize } from "../../engine/core/options.js";
import { oneOf, parseCommand, printJson, progressLine } from "./output.js";
import { formatProgress, formatPullProgress } from "./progress.js";

const HELP = `Usage: bootc to-disk [options] IMAGE FILE

Writes a bootable disk image of IMAGE to FILE, for other virtualisation tools (libvirt,
virt-manager, a cloud import). It starts from the image's base disk — the one disk mode
uses, from the cache or built now — so a second export of the same image is quick:
- an image with bootc is installed by \`bootc install to-disk\` (its own boot loader);
- otherwise the direct builder's ext4 root gets an EFI system partition with the host's
  systemd-boot, the image's kernel and initramfs: it boots with any UEFI firmware.
FILE appears only when complete (written under a temporary name, then renamed).

Options:
  --format raw|qcow2|vmdk   the file's format (default qcow2)
  --disk-size SIZE          the root filesystem's size, e.g. 20G (default 10G)
  --builder auto|direct|install
                            how the base disk is made (default auto: install if the
                            image has bootc, else direct)
  --filesystem FS           with --builder install: ext4 (default), xfs or btrfs
  --pull POLICY             missing (default), always, never
  --json                    print the result as JSON (no progress)

Example:
  bootc to-disk localhost/bootc-demo ./demo.qcow2
  virt-install --import --boot uefi --disk ./demo.qcow2 --memory 2048 --osinfo linux2022`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: {
        format: { type: "string" },
        "disk-size": { type: "string" },
        builder: { type: "string" },
        filesystem: { type: "string" },
        pull: { type: "string" },
        json: { type: "boolean" },
      },
    },
    HELP,
  );
  const [image, file, ...extra] = positionals;
  if (!image || !file || extra.length) throw new BootcError("INVALID_ARGUMENT", extra.length ? `unexpected arguments: ${extra.join(" ")}` : "give an image and a file", "usage: bootc to-disk [options] IMAGE FILE");
  const quiet = !!values.json;
  const bar = progressLine(quiet);
  const t0 = Date.now();
  const result = await exportImageDisk(enginePaths(), {
    image,
    file,
    format: oneOf("format", values.format, EXPORT_FORMATS),
    builder: oneOf("builder", values.builder, ["auto", "direct", "install"] as const),
    sizeBytes: values["disk-size"] === undefined ? undefined : parseSize(values["disk-size"]),
    filesystem: oneOf("filesystem", values.filesystem, ["ext4", "xfs", "btrfs"] as const),
    pull: oneOf("pull", values.pull, PULL_POLICIES),
    pullHooks: { onProgress: (p) => bar.show(`  pulling ${formatPullProgress(p)}`) },
    onProgress: (p) => bar.show(`  ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s  ${formatProgress(p)}`),
  });
  bar.done();
  if (values.json) {
    printJson(result);
    return 0;
  }
  const mib = Math.round(result.bytes / 1024 / 1024);
  console.log(`wrote ${result.file} (${result.format}, ${mib} MiB on disk; ${result.builder} builder, base disk ${result.reused ? "from the cache" : "built now"})`);
  return 0;
}
