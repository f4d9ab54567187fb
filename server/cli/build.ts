import path from "node:path";
import { buildImage } from "../../engine/images/build.js";
import { parsePlatform } from "../../engine/host/arch.js";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand, printJson } from "./output.js";
import { describePodman, isRemotePodman } from "../../engine/core/podman-connection.js";
import { PODMAN_FLAG_HELP, PODMAN_FLAG_OPTIONS, podmanFromFlags } from "./podman-flags.js";

const HELP = `Usage: bootc build [-t TAG] [-f FILE] [--platform OS/ARCH] [--build-arg K=V]... [--json] [--connection NAME | -r] DIR

Builds an image from the Containerfile (or Dockerfile) in DIR with podman, streaming the
build log. On failure, the failing step's output is shown and the exit code is 1. In
another podman, the directory is sent there and the image stays there.
  -t, --tag TAG        image name (default localhost/<directory name>:latest)
  -f, --file FILE      the Containerfile to use
  --platform OS/ARCH   podman's --platform: linux/amd64 or linux/arm64 (another architecture
                       than the host's runs its RUN steps through qemu-user-static)
  --build-arg K=V      a build argument; repeatable
${PODMAN_FLAG_HELP.replaceAll("the images of", "build in")}`;

export const defaultTag = (dir: string) =>
  `localhost/${path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, "-")}:latest`;

export function parseBuildArgs(list: string[] = []): Record<string, string> {
  return Object.fromEntries(
    list.map((kv) => {
      const i = kv.indexOf("=");
      if (i <= 0) throw new BootcError("INVALID_ARGUMENT", `--build-arg "${kv}" is not KEY=VALUE`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: {
        tag: { type: "string", short: "t" },
        file: { type: "string", short: "f" },
        "build-arg": { type: "string", multiple: true },
        platform: { type: "string" },
        json: { type: "boolean" },
        ...PODMAN_FLAG_OPTIONS,
      },
    },
    HELP,
  );
  const [dir] = positionals;
  if (!dir || positionals.length > 1) throw new BootcError("INVALID_ARGUMENT", "give one directory to build", "usage: bootc build [-t TAG] DIR");
  const tag = values.tag ?? defaultTag(dir);
  const podman = podmanFromFlags(values.connection !== undefined ? { connection: values.connection } : undefined, values.remote);
  const r = await buildImage({
    podman,
    dir,
    tag,
    file: values.file,
    buildArgs: parseBuildArgs(values["build-arg"]),
    platform: values.platform === undefined ? undefined : parsePlatform(values.platform).platform,
    onLine: values.json ? undefined : (l) => console.log(l),
  });
  if (values.json) printJson(r);
  else console.log(`built ${r.tag} (${r.imageId.slice(0, 12)})${isRemotePodman(podman) ? ` in ${describePodman(podman)}` : ""}`);
  return 0;
}
