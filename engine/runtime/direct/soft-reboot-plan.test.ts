import { mkdtempSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { bootIdentity, softRebootBlocker, type SoftRebootFacts } from "./soft-reboot-plan.js";

const same = { kernel: "k1", initrd: "i1", kernelArgs: "" };
const ok: SoftRebootFacts = { mode: "ephemeral", guestSystemd: 257, sshReady: true, freePort: true, current: same, next: same };

describe("softRebootBlocker", () => {
  it("allows a soft reboot of a running ephemeral VM into an image with the same kernel and initramfs", () => {
    expect(softRebootBlocker(ok)).toBeUndefined();
    // Before the images are compared (the cheap checks first).
    expect(softRebootBlocker({ ...ok, current: undefined, next: undefined })).toBeUndefined();
  });

  it("says in one line why it falls back to a full reboot", () => {
    const why = (f: Partial<SoftRebootFacts>) => softRebootBlocker({ ...ok, ...f });
    expect(why({ mode: "disk" })).toMatch(/disk-mode/);
    expect(why({ guestSystemd: 252 })).toBe("the guest's systemd is 252, older than 254, which added soft-reboot");
    expect(why({ guestSystemd: undefined })).toMatch(/systemd version is unknown/);
    expect(why({ sshReady: false })).toMatch(/does not answer SSH/);
    expect(why({ freePort: false })).toMatch(/no free PCIe root port/);
    expect(why({ next: { ...same, kernel: "k2" } })).toBe("the new image has another kernel");
    expect(why({ next: { ...same, initrd: "i2" } })).toBe("the new image has another initramfs");
    expect(why({ next: { ...same, kernelArgs: "quiet" } })).toMatch(/command line/);
    for (const f of [{ mode: "disk" as const }, { guestSystemd: 200 }, { next: { ...same, kernel: "x" } }]) expect(why(f)).not.toContain("\n");
  });
});

describe("bootIdentity", () => {
  it("is the content of the kernel and initramfs, not their paths", async () => {
    const dir = mkdtempSync("/tmp/bce-unit-boot-");
    const write = (name: string, text: string) => {
      writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    };
    const a = await bootIdentity({ kernel: write("k-a", "kernel"), initrd: write("i-a", "initrd") });
    const b = await bootIdentity({ kernel: write("k-b", "kernel"), initrd: write("i-b", "initrd") });
    const c = await bootIdentity({ kernel: write("k-c", "kernel"), initrd: write("i-c", "initrd v2") });
    expect(a).toEqual(b);
    expect(softRebootBlocker({ ...ok, current: a, next: c })).toBe("the new image has another initramfs");
  });
});
