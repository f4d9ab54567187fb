import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findBootFiles, resolveInImage } from "./rootfs.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "bce-rootfs-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** An image root with a kernel directory, and a host file outside it that must never be reached. */
function image(name: string) {
  const root = path.join(tmp, name);
  mkdirSync(path.join(root, "usr/lib/modules/6.1"), { recursive: true });
  mkdirSync(path.join(root, "boot"), { recursive: true });
  return root;
}
const secret = path.join(tmp, "host-secret");
writeFileSync(secret, "PRIVATE KEY");

describe("resolveInImage", () => {
  it("follows links inside the image, absolute ones from the image's root", async () => {
    const root = image("inside");
    writeFileSync(path.join(root, "boot/initrd.img-6.1"), "initrd");
    symlinkSync("/boot/initrd.img-6.1", path.join(root, "usr/lib/modules/6.1/initramfs.img"));
    symlinkSync("../../../../boot/initrd.img-6.1", path.join(root, "usr/lib/modules/6.1/relative.img"));
    expect(await resolveInImage(root, "usr/lib/modules/6.1/initramfs.img")).toBe(path.join(root, "boot/initrd.img-6.1"));
    expect(await resolveInImage(root, "usr/lib/modules/6.1/relative.img")).toBe(path.join(root, "boot/initrd.img-6.1"));
  });

  it("never leads to a host file: absolute links, .. above the root and linked directories stay in the image", async () => {
    const root = image("hostile");
    symlinkSync(secret, path.join(root, "usr/lib/modules/6.1/vmlinuz"));
    symlinkSync(`../../../../../../../../..${secret}`, path.join(root, "usr/lib/modules/6.1/initramfs.img"));
    symlinkSync(tmp, path.join(root, "usr/lib/modules/7.0"));
    expect(await resolveInImage(root, "usr/lib/modules/6.1/vmlinuz")).toBeUndefined();
    expect(await resolveInImage(root, "usr/lib/modules/6.1/initramfs.img")).toBeUndefined();
    expect(await resolveInImage(root, "usr/lib/modules/7.0/host-secret")).toBeUndefined();
    await expect(findBootFiles(root, "hostile")).rejects.toThrow(/has no kernel/);
  });

  it("gives up on a link loop and refuses what is not a regular file", async () => {
    const root = image("loop");
    symlinkSync("b", path.join(root, "boot/a"));
    symlinkSync("a", path.join(root, "boot/b"));
    expect(await resolveInImage(root, "boot/a")).toBeUndefined();
    expect(await resolveInImage(root, "boot")).toBeUndefined();
  });
});
