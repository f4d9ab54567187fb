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
      shares: [
        { tag: "bind1", guestPath: "/mnt/src", readOnly: true },
        { tag: "bind2", guestPath: "/srv", readOnly: false },
      ],
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

describe("users, passwords and autologin", () => {
  it("creates a -u user the image lacks, with a home and a sudo rule, and gives it the key", () => {
    const { credentials } = guestCredentials({ user: "dev", publicKey: key, shares: [], systemd: 257, imageUsers: ["root", "daemon"] });
    expect(credentials.find((c) => c.name === "sysusers.extra")?.value).toBe('u dev - "bootc-console user" /home/dev /bin/bash\n');
    const tmpfiles = credentials.find((c) => c.name === "tmpfiles.extra")!.value;
    expect(tmpfiles).toMatch(/^d \/home\/dev 0700 dev dev -\nf~ \/etc\/sudoers\.d\/bootc-console-dev 0440 root root - (\S+)\nd \/home\/dev\/\.ssh/);
    const sudoers = /sudoers\.d\S+ 0440 root root - (\S+)/.exec(tmpfiles)![1]!;
    expect(Buffer.from(sudoers, "base64").toString()).toBe("dev ALL=(ALL) NOPASSWD: ALL\n");
  });

  it("leaves a user the image already has as it is: no new account, no sudo", () => {
    const { credentials } = guestCredentials({ user: "dev", publicKey: key, shares: [], systemd: 257, imageUsers: ["root", "dev"] });
    expect(credentials.map((c) => c.name)).toEqual(["tmpfiles.extra"]);
    expect(credentials[0]!.value).not.toContain("sudoers");
  });

  it("sets a password at first boot from a secret credential, and logs in on the serial console with autologin", () => {
    const { credentials } = guestCredentials({ user: "root", shares: [], systemd: 257, passwordHash: "$6$salt$hash", autologinTty: "ttyS0" });
    const names = credentials.map((c) => c.name);
    expect(names).toEqual([
      "systemd.extra-unit.bootc-console-firstboot.service",
      "systemd.unit-dropin.sysinit.target",
      "bootc-console.firstboot",
      "bootc-console.passwd",
      "systemd.unit-dropin.serial-getty@ttyS0.service",
    ]);
    const unit = credentials[0]!.value;
    expect(unit).toContain("Before=systemd-user-sessions.service getty.target ssh.service sshd.service");
    expect(unit).toContain("ConditionPathExists=!/etc/initrd-release");
    expect(credentials[2]!.value).toContain(`chpasswd -e < "$CREDENTIALS_DIRECTORY/bootc-console.passwd"`);
    expect(credentials[3]).toEqual({ name: "bootc-console.passwd", value: "root:$6$salt$hash\n", secret: true });
    expect(credentials[4]!.value).toContain("--autologin root ");
  });

  it("refuses first-boot work on a guest whose systemd cannot take units as credentials", () => {
    expect(() => guestCredentials({ user: "root", shares: [], systemd: 252, autologinTty: "ttyS0" })).toThrow(
      /systemd \(252\) is older than 256, which autologin needs/,
    );
  });
});
