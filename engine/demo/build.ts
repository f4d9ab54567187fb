/**
 * Building localhost/bootc-demo, the offline bootable demo/test image: recipe.sh makes a
 * Debian root filesystem in the bootc layout, which is imported with `podman import` and
 * labelled containers.bootc=1 plus the recipe's hash. A build whose hash matches the
 * existing image does nothing. `podman import` creates the image only when complete, so
 * a failed build never leaves a half-made image under the final name.
 */
import { createHash } from "node:crypto";
import { readFile, mkdtemp, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { BootcError } from "../errors.js";
import { findOnPath, hostArch } from "../host/tools.js";
import { podman, podmanJson, podmanPath } from "../podman.js";
import { demoWorkRoot } from "../paths.js";

export const DEMO_IMAGE = "localhost/bootc-demo:latest";
export const RECIPE_LABEL = "org.bootc-console.recipe";
// Next to this module in the source tree; `npm run build` copies it next to the compiled one.
const RECIPE = fileURLToPath(new URL("./recipe.sh", import.meta.url));

export interface DemoBuildOptions {
  suite?: string;
  mirror?: string;
  /** Rebuild even when the recipe hash matches. */
  force?: boolean;
  onLog?: (line: string) => void;
}

export type DemoBuildResult = { built: boolean; image: string; recipeHash: string; seconds: number };

export async function demoRecipeHash(suite: string, mirror: string): Promise<string> {
  const recipe = await readFile(RECIPE);
  return createHash("sha256").update(recipe).update(`\0${suite}\0${mirror}\0${hostArch()}`).digest("hex").slice(0, 16);
}

/** The recipe hash the existing demo image was built from, if any. */
export async function existingDemoHash(image = DEMO_IMAGE): Promise<string | undefined> {
  const exists = await podman(["image", "exists", image]).then(() => true, () => false);
  if (!exists) return undefined;
  const [i] = await podmanJson<Array<{ Labels?: Record<string, string> | null }>>(["image", "inspect", image]);
  return i?.Labels?.[RECIPE_LABEL];
}

export async function buildDemoImage(opts: DemoBuildOptions = {}): Promise<DemoBuildResult> {
  const started = Date.now();
  const log = opts.onLog ?? (() => undefined);
  const suite = opts.suite ?? process.env.BOOTC_DEMO_SUITE ?? "trixie";
  const mirror = opts.mirror ?? process.env.BOOTC_DEMO_MIRROR ?? "http://deb.debian.org/debian";
  if (process.getuid?.() !== 0) {
    throw new BootcError("NEEDS_ROOT", "building the demo image needs root (debootstrap, chroot and podman import of a full OS)", "run it as root: sudo bootc demo build");
  }
  if (!findOnPath("debootstrap")) {
    throw new BootcError("MISSING_TOOL", "debootstrap was not found on PATH", "install it (apt-get install debootstrap; dnf install debootstrap), or run scripts/setup.sh");
  }
  podmanPath();
  const hash = await demoRecipeHash(suite, mirror);
  if (!opts.force && (await existingDemoHash()) === hash) {
    log(`==> ${DEMO_IMAGE} is up to date (recipe ${hash}): nothing to do`);
    return { built: false, image: DEMO_IMAGE, recipeHash: hash, seconds: (Date.now() - started) / 1000 };
  }

  // Not under /tmp: it may be a small tmpfs, and the tree is a few hundred MB.
  const workRoot = demoWorkRoot();
  await mkdir(workRoot, { recursive: true });
  const work = await mkdtemp(path.join(workRoot, "demo-"));
  const rootfs = path.join(work, "rootfs");
  try {
    const recipe = execa("bash", [RECIPE, rootfs], {
      env: { BOOTC_DEMO_SUITE: suite, BOOTC_DEMO_MIRROR: mirror },
      all: true,
      reject: false,
      buffer: false,
    });
    let lastLines: string[] = [];
    for await (const line of recipe.iterable({ from: "all" })) {
      const text = String(line);
      lastLines = [...lastLines, text].slice(-15);
      log(text);
    }
    const result = await recipe;
    if (result.exitCode !== 0) {
      throw new BootcError("DEMO_BUILD_FAILED", `the demo image recipe failed (exit ${result.exitCode}):\n${lastLines.join("\n")}`, "check network access to the Debian mirror (BOOTC_DEMO_MIRROR) and free disk space, then run again");
    }
    log(`==> import into podman as ${DEMO_IMAGE}`);
    // Through a tarball file rather than a pipe: each step then has its own exit status
    // and error text.
    const tarball = path.join(work, "rootfs.tar");
    const tar = await execa("tar", ["-C", rootfs, "--numeric-owner", "--xattrs", "--acls", "-cf", tarball, "."], { reject: false });
    if (tar.exitCode !== 0) throw new BootcError("DEMO_BUILD_FAILED", `packing the root filesystem failed: ${tar.stderr.trim()}`, "check free disk space in the cache directory");
    await podman([
      "import",
      "--quiet",
      "--change", "LABEL containers.bootc=1",
      "--change", `LABEL ${RECIPE_LABEL}=${hash}`,
      "--change", "LABEL org.opencontainers.image.title=bootc-demo",
      "--change", `LABEL org.opencontainers.image.description=Debian ${suite} bootc-layout demo image built by bootc-console`,
      tarball,
      DEMO_IMAGE,
    ]);
    const seconds = (Date.now() - started) / 1000;
    log(`==> built ${DEMO_IMAGE} (recipe ${hash}) in ${seconds.toFixed(0)}s`);
    return { built: true, image: DEMO_IMAGE, recipeHash: hash, seconds };
  } finally {
    await removeWorkTree(work);
  }
}

/**
 * Removes the build tree without ever following a mount into the host: lazy-unmount
 * anything left mounted below it (a killed recipe may leave /proc, /sys, /dev bound),
 * then `rm --one-file-system`.
 */
async function removeWorkTree(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mountinfo", "utf8").catch(() => ""))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(dir + "/"))
    .sort()
    .reverse();
  for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  await execa("rm", ["-rf", "--one-file-system", dir], { reject: false });
}
