import { describe, expect, it } from "vitest";
import { credentialPlan, defaultTransport, KERNEL_CMDLINE_MAX } from "./transport.js";

const creds = [
  { name: "tmpfiles.extra", value: "d /root/.ssh 0700 root root -\n" },
  { name: "bootc-console.passwd", value: "root:$6$x$y\n", secret: true },
];
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("credential transports", () => {
  it("uses SMBIOS on x86 and wherever UEFI firmware boots, fw_cfg for an arm64 direct-kernel boot", () => {
    expect(defaultTransport("x86_64", false)).toBe("smbios");
    expect(defaultTransport("aarch64", true)).toBe("smbios");
    expect(defaultTransport("aarch64", false)).toBe("fw_cfg");
  });

  it("puts SMBIOS strings in files, so no value (a password hash) shows in qemu's command line", () => {
    const plan = credentialPlan(creds, "smbios", "/run/b/web/credentials", true);
    expect(plan.qemuArgs).toEqual([
      "-smbios",
      "type=11,path=/run/b/web/credentials/credential-0",
      "-smbios",
      "type=11,path=/run/b/web/credentials/credential-1",
    ]);
    expect(plan.files[1]).toEqual({
      path: "/run/b/web/credentials/credential-1",
      content: `io.systemd.credential.binary:bootc-console.passwd=${b64("root:$6$x$y\n")}`,
    });
    expect(plan.qemuArgs.join(" ")).not.toContain("$6$");
    expect(plan.kernelArgs).toEqual([]);
  });

  it("names fw_cfg files under opt/io.systemd.credentials and escapes the path", () => {
    const plan = credentialPlan(creds.slice(0, 1), "fw_cfg", "/run/a,b", true);
    expect(plan.qemuArgs).toEqual(["-fw_cfg", "name=opt/io.systemd.credentials/tmpfiles.extra,file=/run/a,,b/credential-0"]);
    expect(plan.files[0]!.content).toBe(creds[0]!.value);
  });

  it("sends a name too long for fw_cfg (systemd's unit credentials) on the kernel command line instead", () => {
    const unit = { name: "systemd.extra-unit.bootc-console-firstboot.service", value: "[Unit]\n" };
    const plan = credentialPlan([creds[0]!, unit], "fw_cfg", "/d", true);
    expect(plan.qemuArgs).toEqual(["-fw_cfg", "name=opt/io.systemd.credentials/tmpfiles.extra,file=/d/credential-0"]);
    expect(plan.kernelArgs).toEqual([`systemd.set_credential_binary=${unit.name}:${b64(unit.value)}`]);
    expect(() => credentialPlan([unit], "fw_cfg", "/d", false)).toThrow(/name too long for fw_cfg .* UEFI/);
  });

  it("puts credentials on the kernel command line only for direct kernel boots, and never a secret", () => {
    expect(credentialPlan(creds.slice(0, 1), "cmdline", "/d", true)).toEqual({
      qemuArgs: [],
      files: [],
      kernelArgs: [`systemd.set_credential_binary=tmpfiles.extra:${b64(creds[0]!.value)}`],
    });
    expect(() => credentialPlan(creds, "cmdline", "/d", true)).toThrow(/is a secret/);
    expect(() => credentialPlan(creds.slice(0, 1), "cmdline", "/d", false)).toThrow(/UEFI/);
    expect(() => credentialPlan([{ name: "big", value: "x".repeat(KERNEL_CMDLINE_MAX) }], "cmdline", "/d", true)).toThrow(/bytes of kernel command line/);
  });

  it("esp: the credentials go to the EFI system partition, no qemu or kernel argument; never for a direct kernel boot", () => {
    expect(credentialPlan(creds, "esp", "/d", false)).toEqual({ qemuArgs: [], kernelArgs: [], files: [], esp: creds });
    expect(() => credentialPlan(creds, "esp", "/d", true)).toThrow(/reach only a disk that boots through UEFI firmware/);
    expect(() => credentialPlan([{ name: "../x", value: "" }], "esp", "/d", false)).toThrow(/not a credential name/);
  });

  it("refuses a credential name that could add a qemu option or leave the directory", () => {
    expect(() => credentialPlan([{ name: "a,file=/etc/shadow", value: "" }], "fw_cfg", "/d", true)).toThrow(/not a credential name/);
    expect(() => credentialPlan([{ name: "../x", value: "" }], "smbios", "/d", true)).toThrow(/not a credential name/);
  });
});
