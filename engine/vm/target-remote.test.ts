import { describe, expect, it, vi } from "vitest";
import { RunOptionsSchema } from "../core/schema.js";
import type { ImageDetails } from "../images/images.js";

// The image is in another podman: what podman says of it is made up here, and nothing is exported.
const remoteImage = vi.hoisted(() => ({ arch: "arm64" }));
vi.mock("../images/images.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../images/images.js")>()),
  inspectImage: vi.fn(async (ref: string): Promise<ImageDetails> => ({
    id: "a".repeat(64),
    names: [ref],
    digest: "",
    sizeBytes: 1,
    arch: remoteImage.arch,
    os: "linux",
    createdAt: "",
    labels: {},
    bootcLabel: true,
  })),
}));
vi.mock("../images/remote-root.js", () => ({ exportedRoot: vi.fn(async () => ({ dir: "/nonexistent-root", reused: true })) }));
vi.mock("../images/rootfs.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../images/rootfs.js")>()),
  readGuestFacts: vi.fn(async () => ({})),
}));

const { planTarget } = await import("./target.js");
const { hostArch } = await import("../host/tools.js");

const run = (mode: "ephemeral" | "disk") =>
  RunOptionsSchema.parse({ image: "localhost/x", mode, podman: { url: "ssh://u@127.0.0.1:2222/run/user/1/podman/podman.sock" } });
const foreign = hostArch() === "x86_64" ? { podman: "arm64", guest: "aarch64" } : { podman: "amd64", guest: "x86_64" };

describe("an image of another podman and another architecture", () => {
  it("is emulated in ephemeral mode as a local one is: the target carries its architecture", async () => {
    remoteImage.arch = foreign.podman;
    const target = await planTarget(run("ephemeral"), { paths: {} as never });
    expect(target.arch).toBe(foreign.guest);
    expect(target.podman).toBeDefined();
  });

  it("has no architecture of its own when it is the host's", async () => {
    remoteImage.arch = hostArch() === "x86_64" ? "amd64" : "arm64";
    expect((await planTarget(run("ephemeral"), { paths: {} as never })).arch).toBeUndefined();
  });

  it("is refused before anything is exported when its architecture is not one bootc boots", async () => {
    remoteImage.arch = "s390x";
    const { exportedRoot } = await import("../images/remote-root.js");
    vi.mocked(exportedRoot).mockClear();
    await expect(planTarget(run("ephemeral"), { paths: {} as never })).rejects.toThrow(/the image's architecture "s390x" is not one bootc-console can boot/);
    expect(exportedRoot).not.toHaveBeenCalled();
  });
});
