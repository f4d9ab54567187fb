/**
 * Opt-in: the `bootc install to-disk` builder against a real bootc image, for machines
 * that can pull one (this project's CI cannot reach registries). Set
 * BOOTC_INSTALL_TEST_IMAGE to an image already in local storage, e.g.
 *   podman pull quay.io/fedora/fedora-bootc:41
 *   BOOTC_INSTALL_TEST_IMAGE=quay.io/fedora/fedora-bootc:41 npx vitest run -c e2e/vitest.config.ts e2e/install.e2e.ts
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, makeHome, processesUsing } from "./lib/harness.js";

const image = process.env.BOOTC_INSTALL_TEST_IMAGE;
let home = "";

describe.skipIf(!image)("bootc install to-disk (opt-in: BOOTC_INSTALL_TEST_IMAGE)", () => {
  // Made here, not at load: a skipped file runs no hooks, so nothing would remove it.
  beforeAll(() => {
    home = makeHome();
  });
  afterAll(async () => {
    await bootc(home, ["rm", "--force", "inst"]);
  });

  it("installs the image into a base disk, boots it with UEFI, and keeps what the guest wrote", async () => {
    const run = await bootc(home, ["run", "--mode", "disk", "--builder", "install", "--name", "inst", "--timeout", "1200", image!]);
    expect(run.exitCode, String(run.all)).toBe(0);
    const vm = await bootcJson<{ disk: { builder: string }; qemuArgs: string[]; timeline: Array<{ event: string }> }>(home, ["inspect", "inst"]);
    expect(vm.disk.builder).toBe("install");
    expect(vm.qemuArgs.join(" ")).toMatch(/if=pflash/);
    expect(vm.timeline.map((t) => t.event)).toContain("disk-built");
    // An installed bootc system: ostree-booted, and `bootc status` knows its image.
    const status = await bootc(home, ["ssh", "inst", "--", "bootc", "status"]);
    expect(status.exitCode, String(status.all)).toBe(0);
    await bootc(home, ["ssh", "inst", "--", "sh", "-c", "echo kept > /var/note && sync"]);
    expect((await bootc(home, ["stop", "inst"])).exitCode).toBe(0);
    expect((await bootc(home, ["start", "inst", "--json"])).exitCode).toBe(0);
    expect(String((await bootc(home, ["ssh", "inst", "--", "cat", "/var/note"])).stdout).trim()).toBe("kept");
    await bootc(home, ["rm", "--force", "inst"]);
    expect(processesUsing(home)).toEqual([]);
  });
});
