import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { imdsArgs, makeSeedIso, seedIsoArgs, startImds } from "./cloudinit.js";
import { checkCloudInitDir, copyCloudInitDir, defaultUserIdentity } from "./inputs.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "bce-ci-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const seed = path.join(tmp, "seed");
mkdirSync(seed);
writeFileSync(path.join(seed, "user-data"), "#cloud-config\nruncmd: [touch /x]\n");
writeFileSync(path.join(seed, "unrelated.txt"), "not for the guest\n");

describe("cloud-init seeds", () => {
  it("copies only NoCloud's files, adding the empty meta-data NoCloud requires", async () => {
    const copy = path.join(tmp, "copy");
    await copyCloudInitDir(seed, copy);
    expect(readFileSync(path.join(copy, "user-data"), "utf8")).toContain("runcmd");
    expect(readFileSync(path.join(copy, "meta-data"), "utf8")).toBe("");
    expect(() => readFileSync(path.join(copy, "unrelated.txt"))).toThrow();
  });

  it("refuses a directory without user-data, a missing one, and a user-data that is not a file", async () => {
    const empty = path.join(tmp, "empty");
    mkdirSync(empty);
    await expect(checkCloudInitDir(empty)).rejects.toThrow(/has no user-data file/);
    await expect(checkCloudInitDir(path.join(tmp, "nope"))).rejects.toThrow(/does not exist/);
    const odd = path.join(tmp, "odd");
    mkdirSync(path.join(odd, "user-data"), { recursive: true });
    await expect(checkCloudInitDir(odd)).rejects.toThrow(/user-data is not a regular file/);
  });

  it("makes an ISO labelled cidata that holds the files", async () => {
    const copy = path.join(tmp, "copy");
    const iso = path.join(tmp, "seed.iso");
    await makeSeedIso(copy, iso);
    const info = execFileSync("xorriso", ["-indev", iso, "-pvd_info"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(info).toMatch(/Volume Id\s*:\s*cidata/);
    const listing = execFileSync("xorriso", ["-indev", iso, "-ls", "/"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    expect(listing).toContain("'user-data'");
    expect(listing).toContain("'meta-data'");
  });

  it("attaches the seed read-only and announces the IMDS in the SMBIOS serial, escaping commas", () => {
    expect(seedIsoArgs("/run/a,b/cidata.iso")).toEqual([
      "-drive",
      "file=/run/a,,b/cidata.iso,if=none,id=cidata,format=raw,readonly=on",
      "-device",
      "virtio-blk-pci,drive=cidata",
    ]);
    expect(imdsArgs("http://10.0.2.2:8000/abc/")).toEqual(["-smbios", "type=1,serial=ds=nocloud;s=http://10.0.2.2:8000/abc/"]);
  });

  it("serves the seed only under its token, only NoCloud's files, and stops with close()", async () => {
    const imds = await startImds(path.join(tmp, "copy"));
    const local = imds.guestUrl.replace("10.0.2.2", "127.0.0.1");
    expect(imds.guestUrl).toMatch(/^http:\/\/10\.0\.2\.2:\d+\/[0-9a-f]{32}\/$/);
    expect(await (await fetch(`${local}user-data`)).text()).toContain("runcmd");
    expect((await fetch(`http://127.0.0.1:${imds.port}/user-data`)).status).toBe(404);
    expect((await fetch(`${local}..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await fetch(`${local}unrelated.txt`)).status).toBe(404);
    await imds.close();
    await expect(fetch(`${local}user-data`)).rejects.toThrow();
  });
});

describe("--inj-ssh-identity", () => {
  it("picks ~/.ssh/id_ed25519, else id_rsa, and says how to make one when there is neither", async () => {
    const home = path.join(tmp, "home");
    mkdirSync(path.join(home, ".ssh"), { recursive: true });
    await expect(defaultUserIdentity(home)).rejects.toThrow(/no SSH key to inject/);
    writeFileSync(path.join(home, ".ssh/id_rsa"), "k");
    expect(await defaultUserIdentity(home)).toBe(path.join(home, ".ssh/id_rsa"));
    symlinkSync(path.join(home, ".ssh/id_rsa"), path.join(home, ".ssh/id_ed25519"));
    expect(await defaultUserIdentity(home)).toBe(path.join(home, ".ssh/id_ed25519"));
  });
});
