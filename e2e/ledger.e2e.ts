/**
 * The leftover-image-mount check itself (harness.ts, watchImageMounts), with real podman:
 * two test files run at once and mount the same images, so a file's check must count the
 * mounts made for its own homes only — not one that another file's VM holds meanwhile —
 * and still catch its own.
 */
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { DEMO_IMAGE, makeHome, tempDir, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("ledger.e2e.ts");
/** `podman image mount|unmount` as the engine runs it for a VM of `bootcHome`. */
const podmanFor = (bootcHome: string, verb: "mount" | "unmount") =>
  execa("podman", ["image", verb, DEMO_IMAGE], { env: { ...process.env, BOOTC_HOME: bootcHome } });

describe("the leftover-image-mount check", () => {
  it("ignores a mount made for another file's home, and reports one of its own until it is undone", async () => {
    const elsewhere = tempDir("bce-other-"); // like another test file's home
    await podmanFor(elsewhere, "mount");
    try {
      expect(await mounts.left()).toEqual([]);
      await podmanFor(home, "mount");
      expect(await mounts.left()).toEqual([expect.stringMatching(new RegExp(`^${DEMO_IMAGE} for ${home}: mounted 1 more`))]);
      await podmanFor(home, "unmount");
      expect(await mounts.left()).toEqual([]);
    } finally {
      await podmanFor(elsewhere, "unmount");
    }
  });
});
