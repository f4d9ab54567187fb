import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findOnPath } from "../host/tools.js";
import { tempDir } from "../../test/tmp.js";
import { espCredentialFiles, nullKeyCredential, openNullKeyCredential } from "./esp-credentials.js";

// Made by systemd 252: printf hello | systemd-creds encrypt --with-key=tpm2-absent --name=foo - out
const FROM_SYSTEMD = "BYRp2vb1QySABUnaD46i+yAAAAABAAAADAAAABAAAACzomAswpW6ctHHrHQAAAAAKMSgyMb7QLUg5rO\nn/zTc/yIBPSF3TIq+Qhieh1QuJjaSiG6rQnIwpsvO40c0\n";

const systemdCreds = findOnPath("systemd-creds");

describe("credentials on the ESP (null-key encrypted, as systemd-stub needs)", () => {
  it("reads a credential systemd-creds made: same layout, key and authentication", () => {
    expect(openNullKeyCredential(FROM_SYSTEMD)).toEqual({ name: "foo", value: Buffer.from("hello") });
  });

  it("writes what it reads back, and a changed byte fails authentication", () => {
    const text = nullKeyCredential("tmpfiles.extra", "d /root/.ssh 0700 root root -\n", { iv: Buffer.alloc(12, 7), timestampUsec: 1n });
    expect(openNullKeyCredential(text)).toEqual({ name: "tmpfiles.extra", value: Buffer.from("d /root/.ssh 0700 root root -\n") });
    const raw = Buffer.from(text, "base64");
    raw[raw.length - 20]! ^= 1;
    expect(() => openNullKeyCredential(raw.toString("base64"))).toThrow();
  });

  it("is deterministic given the IV and time, and random otherwise", () => {
    const fixed = { iv: Buffer.alloc(12, 1), timestampUsec: 5n };
    expect(nullKeyCredential("a", "x", fixed)).toBe(nullKeyCredential("a", "x", fixed));
    expect(nullKeyCredential("a", "x")).not.toBe(nullKeyCredential("a", "x"));
  });

  it("refuses a name that is not a credential name (it becomes a file name on the ESP)", () => {
    expect(() => nullKeyCredential("../x", "v")).toThrow(/not a credential name/);
    expect(() => espCredentialFiles([{ name: "a/b", value: "v" }])).toThrow(/not a credential name/);
  });

  it("lays the files out as loader/credentials/NAME.cred, the name sealed inside matching", () => {
    const files = espCredentialFiles([
      { name: "tmpfiles.extra", value: "t" },
      { name: "ssh.authorized_keys.root", value: "ssh-ed25519 AAAA k\n" },
    ]);
    expect(files.map((f) => f.path)).toEqual(["loader/credentials/tmpfiles.extra.cred", "loader/credentials/ssh.authorized_keys.root.cred"]);
    expect(openNullKeyCredential(files[1]!.content).name).toBe("ssh.authorized_keys.root");
  });

  it.skipIf(!systemdCreds)("is accepted by systemd-creds decrypt, which checks the embedded name", () => {
    const dir = tempDir("esp-cred-");
    const file = path.join(dir, "tmpfiles.extra");
    writeFileSync(file, nullKeyCredential("tmpfiles.extra", "f /tmp/x 0600 root root - y\n"));
    const out = execFileSync(systemdCreds!, ["decrypt", "--name=tmpfiles.extra", file, "-"], { stdio: ["ignore", "pipe", "ignore"] });
    expect(out.toString()).toBe("f /tmp/x 0600 root root - y\n");
    expect(() => execFileSync(systemdCreds!, ["decrypt", "--name=other", file, "-"], { stdio: "ignore" })).toThrow();
  });
});
