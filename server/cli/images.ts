import { describePodman, isRemotePodman } from "../../engine/core/podman-connection.js";
import { listImages } from "../../engine/images/images.js";
import { formatDuration, parseCommand, printJson, table } from "./output.js";
import { PODMAN_FLAG_HELP, PODMAN_FLAG_OPTIONS, podmanFromFlags } from "./podman-flags.js";

const HELP = `Usage: bootc images [--all] [--json] [--connection NAME | -r]

Lists container images (podman), bootc images first and marked with *, one line per name,
with each image's architecture (ARCH: amd64, arm64; another than the host's boots emulated).
An image is a bootc image when it has the label containers.bootc=1. --all includes untagged
intermediate images.

${PODMAN_FLAG_HELP}`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { all: { type: "boolean" }, json: { type: "boolean" }, ...PODMAN_FLAG_OPTIONS } }, HELP);
  const podman = podmanFromFlags(values.connection !== undefined ? { connection: values.connection } : undefined, values.remote);
  const images = await listImages({ all: values.all, podman });
  if (values.json) {
    printJson(images);
    return 0;
  }
  const remote = isRemotePodman(podman);
  if (!images.length) {
    console.log(remote ? `No images in ${describePodman(podman)}.` : "No local images. Build the demo image with: bootc demo build");
    return 0;
  }
  if (remote) console.log(`Images in ${describePodman(podman)}:`);
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  console.log(
    table(
      ["BOOTC", "IMAGE", "ID", "ARCH", "SIZE", "AGE"],
      // As podman images: a line per name, so every tag of a multi-tag image shows.
      images.flatMap((i) =>
        (i.names.length ? i.names : ["<none>"]).map((name) => [
          i.bootc ? "*" : "",
          name,
          i.id.slice(0, 12),
          i.arch || "-",
          mb(i.sizeBytes),
          i.createdAt ? formatDuration(Date.now() - Date.parse(i.createdAt)) : "-",
        ]),
      ),
    ),
  );
  return 0;
}
