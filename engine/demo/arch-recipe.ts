/**
 * The demo recipe for another architecture. recipe.sh names the host's architecture in two
 * places only (debootstrap's target and the kernel package), and its bytes are the x86_64
 * demo's cache key: editing it would rebuild every checkout's demo. The arm64 recipe is
 * therefore derived from it here, and a recipe.sh whose lines moved fails loudly rather
 * than building an amd64 tree under an arm64 label.
 */
import { ARCH_PROFILES, type GuestArch } from "../host/arch.js";

const DEBOOTSTRAP = "debootstrap --variant=minbase";
const KERNEL = "linux-image-amd64";

export function recipeForArch(recipe: string, arch: GuestArch): string {
  if (arch === "x86_64") return recipe;
  const podman = ARCH_PROFILES[arch].podman;
  for (const needle of [DEBOOTSTRAP, KERNEL]) {
    if (recipe.split(needle).length !== 2) throw new Error(`recipe.sh must name "${needle}" exactly once to derive the ${podman} recipe`);
  }
  // debootstrap runs the target's binaries in the chroot through qemu-user-static, registered
  // with binfmt_misc (flag F): no --foreign second stage needed.
  return recipe.replace(DEBOOTSTRAP, `debootstrap --arch=${podman} --variant=minbase`).replace(KERNEL, `linux-image-${podman}`);
}
