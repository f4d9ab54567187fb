import { describe, expect, it } from "vitest";
import { authorizedKeyTmpfiles, fstabForShares, guestCredentials } from "./credentials.js";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE test@host";

describe("guest credentials", () => {
  it("writes the key for root with tmpfiles, base64-encoded so any key text is safe", () => {
    const lines = authorizedKeyTmpfiles("root", key).trim().split("\n");
    expect(lines[0]).toBe("d /root/.ssh 0700 root root -");
    const b64 = lines[1]!.split(" ").pop()!;
    expect(Buffer.from(b64, "base64").toString()).toBe(key + "\n");
    expect(lines[1]).toMatch(/^f\+~ \/root\/\.ssh\/authorized_keys 0600 root root - /);
  });

  it("uses the user's home for other users", () => {
    expect(authorizedKeyTmpfiles("core", key)).toContain("/home/core/.ssh/authorized_keys 0600 core core");
  });

  it("mounts shares through fstab.extra on systemd 254 and later", () => {
    const { credentials, warnings } = guestCredentials({
      user: "root",
      publicKey: key,
      systemd: 257,
      shares: [{ tag: "bind1", guestPath: "/mnt/src", readOnly: true }, { tag: "bind2", guestPath: "/srv", readOnly: false }],
    });
    expect(warnings).toEqual([]);
    expect(credentials.find((c) => c.name === "fstab.extra")?.value).toBe("bind1 /mnt/src virtiofs ro,nofail 0 0\nbind2 /srv virtiofs rw,nofail 0 0\n");
  });

  it("tells the user how to mount shares by hand on older systemd", () => {
    const { credentials, warnings } = guestCredentials({ user: "root", systemd: 252, shares: [{ tag: "bind1", guestPath: "/mnt/x", readOnly: true }] });
    expect(credentials.map((c) => c.name)).not.toContain("fstab.extra");
    expect(warnings[0]).toContain("mount -t virtiofs -o ro bind1 '/mnt/x'");
  });

  it("escapes what it splices into fstab lines, and refuses a user name that would break a tmpfiles line", () => {
    const fstab = fstabForShares([{ tag: "bind1", guestPath: "/mnt/my share\\x", readOnly: true }]);
    expect(fstab).toBe("bind1 /mnt/my\\040share\\134x virtiofs ro,nofail 0 0\n");
    expect(fstab.split("\n").filter(Boolean)).toHaveLength(1);
    expect(() => authorizedKeyTmpfiles("root\nf /etc/shadow", "ssh-ed25519 AAAA")).toThrow(/not a user name/);
  });
});
