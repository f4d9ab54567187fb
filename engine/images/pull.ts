/** Pulling and removing images, with podman's progress streamed line by line. */
import { execa } from "execa";
import { BootcError } from "../errors.js";
import { podman, podmanPath } from "../podman.js";

export async function pullImage(ref: string, onLine: (line: string) => void = () => undefined): Promise<void> {
  if (!ref || ref.startsWith("-") || /\s/.test(ref)) throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`, "use a reference such as quay.io/fedora/fedora-bootc:42");
  const child = execa(podmanPath(), ["pull", ref], { all: true, reject: false, buffer: false });
  const tail: string[] = [];
  for await (const line of child.iterable({ from: "all" })) {
    const text = String(line);
    tail.push(text);
    if (tail.length > 5) tail.shift();
    onLine(text);
  }
  const r = await child;
  if (r.exitCode !== 0) {
    throw new BootcError("PODMAN_FAILED", `pulling ${ref} failed: ${tail.join(" ").trim()}`, "check the reference and that the registry is reachable; offline, build the demo image instead");
  }
}

export async function removeImage(ref: string): Promise<void> {
  if (!ref || ref.startsWith("-")) throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`);
  await podman(["rmi", ref]).catch((e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    if (/image not known|no such image/i.test(msg)) throw new BootcError("IMAGE_NOT_FOUND", `image "${ref}" is not in local storage`);
    if (/in use|being used|mounted/i.test(msg)) throw new BootcError("VM_RUNNING", `image "${ref}" is in use`, "stop and remove the VMs that use it first");
    throw e;
  });
}
