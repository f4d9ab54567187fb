import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { enginePaths, podmansFile } from "../core/paths.js";
import { forgetPodman, readSavedPodmans, savePodman } from "./saved-podmans.js";

const homes: string[] = [];
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));
function paths() {
  const home = mkdtempSync(path.join(os.tmpdir(), "bce-podmans-"));
  homes.push(home);
  return enginePaths({ ...process.env, BOOTC_HOME: home });
}

describe("saved podmans", () => {
  it("saves, replaces and forgets them by name, in a private file", async () => {
    const p = paths();
    expect(await readSavedPodmans(p)).toEqual([]);
    await savePodman(p, "machine", { connection: "podman-machine-default" });
    await savePodman(p, "build", { url: "ssh://me@build:22/run/user/1000/podman/podman.sock", identity: "/root/.ssh/id_ed25519" });
    await savePodman(p, "machine", { remote: true });
    expect(await readSavedPodmans(p)).toEqual([
      { name: "build", podman: { url: "ssh://me@build:22/run/user/1000/podman/podman.sock", identity: "/root/.ssh/id_ed25519" } },
      { name: "machine", podman: { remote: true } },
    ]);
    expect(statSync(podmansFile(p)).mode & 0o777).toBe(0o600);
    await forgetPodman(p, "build");
    expect((await readSavedPodmans(p)).map((x) => x.name)).toEqual(["machine"]);
  });

  it("refuses a bad name, 'local', a bad URL or key, and an unknown name to forget, in one sentence", async () => {
    const p = paths();
    await expect(savePodman(p, "-x", { remote: true })).rejects.toThrow('"-x" is not a name for a podman');
    await expect(savePodman(p, "local", { remote: true })).rejects.toThrow(`"local" names the server's own podman`);
    await expect(savePodman(p, "a", { url: "http://x" })).rejects.toThrow(/is not a podman connection: not a podman URL/);
    await expect(savePodman(p, "a", { url: "ssh://x/s.sock", identity: "key" })).rejects.toThrow(/is not a podman connection/);
    await expect(forgetPodman(p, "nope")).rejects.toThrow('no saved podman named "nope"');
  });

  it("says a damaged file is damaged rather than forgetting what it held", async () => {
    const p = paths();
    await savePodman(p, "m", { remote: true });
    writeFileSync(podmansFile(p), readFileSync(podmansFile(p), "utf8").slice(0, 10));
    await expect(readSavedPodmans(p)).rejects.toThrow(/podmans.json is damaged/);
  });
});
