/**
 * Building localhost/bootc-demo, the offline bootable demo/test image: recipe.sh makes a
 * Debian root filesystem in the bootc layout, which is imported with `podman import` and
 * labelled containers.bootc=1 plus the recipe's hash. A build whose hash matches the
 * existing image does nothing. `podman import` creates the image only when complete, so
 * a failed build never leaves a half-made image under the final name.
 */
import { createHash } from "node:crypto";
import { readFile, mkdtemp, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { findOnPath, hostArch } from "../host/tools.js";
import { podman, podmanJson, podmanPath } from "../host/podman.js";
import { demoWorkRoot, enginePaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { ARCH_PROFILES, podmanArchName, type GuestArch } from "../host/arch.js";
import { recipeForArch } from "./arch-recipe.js";

export const DEMO_IMAGE = "localhost/bootc-demo:latest";
/** base: the demo; cloud: the same with cloud-init (NoCloud), for --cloudinit. */
export const DEMO_VARIANTS = ["base", "cloud"] as const;
export type DemoVariant = (typeof DEMO_VARIANTS)[number];
export const DEMO_CLOUD_IMAGE = "localhost/bootc-demo-cloud:latest";
/** Another architecture's demo is named after it (localhost/bootc-demo-arm64 on an x86_64 host). */
export function demoImageOf(variant: DemoVariant = "base", arch: GuestArch = hostArch()): string {
  const image = variant === "cloud" ? DEMO_CLOUD_IMAGE : DEMO_IMAGE;
  return arch === hostArch() ? image : image.replace(":latest", `-${podmanArchName(arch)}:latest`);
}
export const RECIPE_LABEL = "org.bootc-console.recipe";
// Next to this module in the source tree; `npm run build` copies it next to the compiled one.
const RECIPE = fileURLToPath(new URL("./recipe.sh", import.meta.url));

export interface DemoBuildOptions {
  suite?: string;
  mirror?: string;
  /** Rebuild even when the recipe hash matches. */
  force?: boolean;
  variant?: DemoVariant;
  /** The image's architecture (default the host's); another one is built through qemu-user-static. */
  arch?: GuestArch;
  onLog?: (line: string) => void;
}

export type DemoBuildResult = { built: boolean; image: string; recipeHash: string; seconds: number };

/** The recipe as run for `arch`: recipe.sh itself for x86_64. */
export const demoRecipe = async (arch: GuestArch = hostArch()): Promise<string> => recipeForArch(await readFile(RECIPE, "utf8"), arch);

export async function demoRecipeHash(suite: string, mirror: string, variant: DemoVariant = "base", arch: GuestArch = hostArch()): Promise<string> {
  const recipe = await demoRecipe(arch);
  // The base variant's hash is what it was before variants existed: no needless rebuild.
  const extra = variant === "base" ? "" : `\0${variant}`;
  return createHash("sha256").update(recipe).update(`\0${suite}\0${mirror}\0${arch}${extra}`).digest("hex").slice(0, 16);
}

/**
 * debootstrap and the recipe's chroot run another architecture's binaries only through
 * qemu-user-static registered with binfmt_misc; without it they fail late with "Exec format error".
 */
async function requireBinfmt(arch: GuestArch): Promise<void> {
  if (arch === hostArch()) return;
  const entry = await readFile(`/proc/sys/fs/binfmt_misc/qemu-${arch}`, "utf8").catch(() => "");
  if (entry.startsWith("enabled")) return;
  throw new BootcError(
    "MISSING_TOOL",
    `building the ${podmanArchName(arch)} demo needs qemu-${arch} registered with binfmt_misc, and it is not`,
    "install qemu-user-static (apt-get install qemu-user-static; dnf install qemu-user-static) and register it: scripts/setup.sh --tests does both",
  );
}

/** The recipe hash the existing demo image was built from, if any. */
export async function existingDemoHash(image = DEMO_IMAGE): Promise<string | undefined> {
  const exists = await podman(["image", "exists", image]).then(
    () => true,
    () => false,
  );
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
    throw new BootcError(
      "NEEDS_ROOT",
      "building the demo image needs root (debootstrap, chroot and podman import of a full OS)",
      "run it as root: sudo bootc demo build",
    );
  }
  if (!findOnPath("debootstrap")) {
    throw new BootcError(
      "MISSING_TOOL",
      "debootstrap was not found on PATH",
      "install it (apt-get install debootstrap; dnf install debootstrap), or run bootc setup",
    );
  }
  podmanPath();
  const variant = opts.variant ?? "base";
  const arch = opts.arch ?? hostArch();
  await requireBinfmt(arch);
  const image = demoImageOf(variant, arch);
  const hash = await demoRecipeHash(suite, mirror, variant, arch);
  if (!opts.force && (await existingDemoHash(image)) === hash) {
    log(`==> ${image} is up to date (recipe ${hash}): nothing to do`);
    return { built: false, image, recipeHash: hash, seconds: (Date.now() - started) / 1000 };
  }

  // Not under /tmp: it may be a small tmpfs, and the tree is a few hundred MB.
  const workRoot = demoWorkRoot();
  await ensurePrivateDir(workRoot, enginePaths());
  const work = await mkdtemp(path.join(workRoot, "demo-"));
  const rootfs = path.join(work, "rootfs");
  try {
    // The recipe as hashed, so what runs is what the label says.
    const recipeFile = path.join(work, "recipe.sh");
    await writeFile(recipeFile, await demoRecipe(arch));
    const recipe = execa("bash", [recipeFile, rootfs], {
      env: { BOOTC_DEMO_SUITE: suite, BOOTC_DEMO_MIRROR: mirror, BOOTC_DEMO_VARIANT: variant },
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
      throw new BootcError(
        "DEMO_BUILD_FAILED",
        `the demo image recipe failed (exit ${result.exitCode}):\n${lastLines.join("\n")}`,
        "check network access to the Debian mirror (BOOTC_DEMO_MIRROR) and free disk space, then run again",
      );
    }
    log(`==> import into podman as ${image}`);
    // Through a tarball file rather than a pipe: each step then has its own exit status
    // and error text.
    const tarball = path.join(work, "rootfs.tar");
    const tar = await execa("tar", ["-C", rootfs, "--numeric-owner", "--xattrs", "--acls", "-cf", tarball, "."], { reject: false });
    if (tar.exitCode !== 0)
      throw new BootcError("DEMO_BUILD_FAILED", `packing the root filesystem failed: ${tar.stderr.trim()}`, "check free disk space in the cache directory");
    await podman([
      "import",
      "--quiet",
      "--arch",
      ARCH_PROFILES[arch].podman,
      "--change",
      "LABEL containers.bootc=1",
      "--change",
      `LABEL ${RECIPE_LABEL}=${hash}`,
      "--change",
      `LABEL org.opencontainers.image.title=${image.replace(/^localhost\//, "").replace(/:latest$/, "")}`,
      "--change",
      `LABEL org.opencontainers.image.description=Debian ${suite} ${podmanArchName(arch)} bootc-layout demo image built by bootc-console`,
      tarball,
      image,
    ]);
    const seconds = (Date.now() - started) / 1000;
    log(`==> built ${image} (recipe ${hash}) in ${seconds.toFixed(0)}s`);
    return { built: true, image, recipeHash: hash, seconds };
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
