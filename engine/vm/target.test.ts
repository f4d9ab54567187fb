import { describe, expect, it } from "vitest";
import { BootcError } from "../core/errors.js";
import { RunOptionsSchema } from "../core/schema.js";
import { foreignArch, refuseKargsUnderUefi } from "./target.js";
import type { VmDisk } from "../core/record.js";

const disk = (builder: VmDisk["builder"]): VmDisk => ({ builder, sizeBytes: 10 * 1024 ** 3, filesystem: "ext4" });
const opts = (kargs: string[]) => RunOptionsSchema.parse({ image: "x", mode: "disk", kargs });

describe("kernel arguments and disk boots", () => {
  it("passes them to a direct-built disk, whose kernel qemu loads", () => {
    expect(() => refuseKargsUnderUefi(opts(["quiet"]), disk("direct"))).not.toThrow();
  });

  it("refuses them for UEFI boots, naming the arguments and what to do instead", () => {
    for (const builder of ["install", "premade"] as const) {
      let err: unknown;
      try {
        refuseKargsUnderUefi(opts(["quiet", "console=ttyS0"]), disk(builder));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BootcError);
      expect((err as BootcError).message).toContain("(quiet console=ttyS0)");
      expect((err as BootcError).hint).toMatch(/drop --karg/);
    }
  });

  it("has nothing to refuse without kernel arguments", () => {
    expect(() => refuseKargsUnderUefi(opts([]), disk("premade"))).not.toThrow();
  });
});

describe("images of another architecture", () => {
  it("is the image's when it is not the host's, in either direction", () => {
    expect(foreignArch("arm64", "x86_64")).toBe("aarch64");
    expect(foreignArch("amd64", "aarch64")).toBe("x86_64");
  });

  it("takes --arch over the image's architecture", () => {
    expect(foreignArch("amd64", "x86_64", "arm64")).toBe("aarch64");
    expect(foreignArch("arm64", "x86_64", "x86_64")).toBeUndefined();
  });

  it("has nothing to say of the host's own architecture, or an image that names none", () => {
    expect(foreignArch("amd64", "x86_64")).toBeUndefined();
    expect(foreignArch("", "x86_64")).toBeUndefined();
  });
});
