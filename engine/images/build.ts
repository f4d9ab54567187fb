/**
 * Building an image from a Containerfile directory with `podman build`, the log streamed
 * line by line. A failed build is a typed error carrying the failing step's last lines.
 */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { podmanCommand } from "../host/podman.js";
import { describePodman, isRemotePodman, type PodmanConnection } from "../core/podman-connection.js";
import { inspectImage } from "./images.js";
import { removeImage } from "./pull.js";

/** Images built by bootc-console remember their source directory, so a VM can be rebuilt from it. */
export const SOURCE_LABEL = "org.bootc-console.source";

export interface BuildOptions {
  dir: string;
  tag: string;
  /** Containerfile path (default: DIR/Containerfile, else DIR/Dockerfile). */
  file?: string;
  buildArgs?: Record<string, string>;
  /** OS/ARCH as podman's --platform, validated (parsePlatform); another architecture's RUN steps go through qemu-user-static. */
  platform?: string;
  onLine?: (line: string) => void;
  /** Build in another podman (the context is sent there, as `podman --remote build` does); the image stays there. */
  podman?: PodmanConnection;
}

export async function buildImage(o: BuildOptions): Promise<{ imageId: string; tag: string }> {
  const dir = path.resolve(o.dir);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new BootcError("INVALID_ARGUMENT", `${dir} is not a directory`, "give the directory that holds the Containerfile");
  }
  let file = o.file ? path.resolve(o.file) : undefined;
  if (!file) {
    for (const name of ["Containerfile", "Dockerfile"]) {
      if (await stat(path.join(dir, name)).catch(() => undefined)) {
        file = path.join(dir, name);
        break;
      }
    }
  }
  if (!file) throw new BootcError("INVALID_ARGUMENT", `no Containerfile or Dockerfile in ${dir}`, "add one, or name it with -f FILE");
  const tmp = await mkdtemp(path.join(os.tmpdir(), "bootc-build-"));
  const iidfile = path.join(tmp, "iid");
  try {
    const args = [
      "build",
      "-t",
      o.tag,
      "-f",
      file,
      "--iidfile",
      iidfile,
      "--label",
      `${SOURCE_LABEL}=${dir}`,
      ...Object.entries(o.buildArgs ?? {}).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
      ...(o.platform ? ["--platform", o.platform] : []),
      dir,
    ];
    const cmd = podmanCommand(args, o.podman);
    const child = execa(cmd.file, cmd.args, { ...cmd.options, all: true, reject: false, buffer: false });
    const tail: string[] = [];
    for await (const line of child.iterable({ from: "all" })) {
      const text = String(line);
      tail.push(text);
      if (tail.length > 15) tail.shift();
      o.onLine?.(text);
    }
    const r = await child;
    if (r.exitCode !== 0) {
      throw new BootcError(
        "BUILD_FAILED",
        `building ${o.tag} from ${dir}${isRemotePodman(o.podman) ? ` in ${describePodman(o.podman)}` : ""} failed:\n${tail.join("\n")}`,
        "fix the Containerfile; the running VM (if any) was left as it was",
      );
    }
    const imageId = (await readFile(iidfile, "utf8")).trim().replace(/^sha256:/, "");
    return { imageId, tag: o.tag };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A rebuild moves the tag to the new image and leaves the old one untagged. Removes that
 * old image if bootc built it and nothing names it any more, so a day of rebuilds does not
 * fill podman's storage. `c`: the podman it was built in (a connection), never the local one then. Best effort: podman refuses an image that a container, a child
 * image or a mount still uses, and then it stays. Returns whether it was removed.
 */
export async function removeSupersededBuild(imageId: string, c?: PodmanConnection): Promise<boolean> {
  const image = await inspectImage(imageId, c).catch(() => undefined);
  if (!image || image.names.length > 0 || !image.labels[SOURCE_LABEL]) return false;
  return removeImage(imageId, c).then(
    () => true,
    () => false,
  );
}
