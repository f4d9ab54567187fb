import { listImages } from "../../engine/images/images.js";
import { formatDuration, parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc images [--all] [--json]

Lists local container images (podman), bootc images first and marked with *. An image
is a bootc image when it has the label containers.bootc=1. --all includes untagged
intermediate images.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { all: { type: "boolean" }, json: { type: "boolean" } } }, HELP);
  const images = await listImages({ all: values.all });
  if (values.json) {
    printJson(images);
    return 0;
  }
  if (!images.length) {
    console.log("No local images. Build the demo image with: bootc demo build");
    return 0;
  }
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  console.log(
    table(
      ["BOOTC", "IMAGE", "ID", "SIZE", "AGE"],
      images.map((i) => [
        i.bootc ? "*" : "",
        i.names[0] ?? "<none>",
        i.id.slice(0, 12),
        mb(i.sizeBytes),
        i.createdAt ? formatDuration(Date.now() - Date.parse(i.createdAt)) : "-",
      ]),
    ),
  );
  return 0;
}
