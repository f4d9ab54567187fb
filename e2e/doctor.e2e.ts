/** `bootc doctor` and the CLI's fast start, against this machine and a PATH with things missing. */
import { accessSync, constants, existsSync, symlinkSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { CLI, ROOT, tempDir } from "./lib/harness.js";

interface Row {
  id: string;
  status: "ok" | "warn" | "fail";
  required: boolean;
  detail: string;
  fix?: string;
}
interface Report {
  ok: boolean;
  rows: Row[];
}

const doctor = (env: Record<string, string> = {}) => execa(process.execPath, [CLI, "doctor", "--json"], { reject: false, env: { ...process.env, ...env } });
const canOpen = (file: string) => {
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
};
const row = (r: Report, id: string) => r.rows.find((x) => x.id === id)!;

describe("bootc doctor", () => {
  it("reports this machine truthfully", async () => {
    const r = await doctor();
    const report = JSON.parse(r.stdout) as Report;
    expect(r.exitCode).toBe(0);
    expect(report.ok).toBe(true);
    expect(row(report, "podman")).toMatchObject({ status: "ok" });
    expect(row(report, "podman").detail).toMatch(/rootful, storage \w+, runtime \w+; runs containers/);
    expect(row(report, "virtiofsd").detail).toMatch(/\((C, -o source=DIR|Rust, --shared-dir DIR)\)/);
    // What the host offers decides, in this order: no device means no KVM whatever modules
    // are loaded; a device this user cannot open is next; then a PVM-only device.
    const accel = row(report, "accel");
    if (!existsSync("/dev/kvm")) {
      expect(accel.detail).toMatch(/^TCG: no \/dev\/kvm/);
    } else if (!canOpen("/dev/kvm")) {
      expect(accel.detail).toMatch(/^TCG: \/dev\/kvm exists but this user cannot open it/);
    } else if (existsSync("/sys/module/kvm_pvm")) {
      expect(accel.detail).toMatch(/^TCG: \/dev\/kvm is present but is a PVM nested hypervisor/);
    } else {
      expect(accel.detail).toMatch(/^KVM/);
    }
  });

  it("fails with a fix for each missing tool when PATH lacks them", async () => {
    const bin = tempDir("bce-path-");
    symlinkSync("/usr/bin/ssh", path.join(bin, "ssh")); // keep one tool, to see it still found
    const r = await doctor({ PATH: bin, BOOTC_VIRTIOFSD: "/nonexistent/virtiofsd" });
    expect(r.exitCode).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.ok).toBe(false);
    for (const id of ["podman", "qemu", "qemu-img", "virtiofsd", "ssh-keygen"]) {
      expect(row(report, id).status, id).toBe("fail");
      expect(row(report, id).fix, id).toMatch(/install|apt-get|dnf/);
    }
    expect(row(report, "ssh")).toMatchObject({ status: "ok", detail: path.join(bin, "ssh") });
    expect(row(report, "xorriso")).toMatchObject({ status: "warn", required: false });
    expect(row(report, "passt")).toMatchObject({ status: "warn", required: false, fix: expect.stringMatching(/install passt/) });
  });

  it("prints a table with fixes by default", async () => {
    const r = await execa(process.execPath, [CLI, "doctor"], { reject: false, env: { ...process.env, PATH: "/nonexistent" } });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL/);
    expect(r.stdout).toMatch(/podman\s+FAIL\s+not found on PATH/);
    expect(r.stdout).toContain("To fix:");
  });
});

describe("the bootc executable", () => {
  it("answers --help and doctor --json without loading Next or React", async () => {
    const trace = path.join(ROOT, "e2e/lib/trace-imports.mjs");
    for (const args of [["--help"], ["doctor", "--json"]]) {
      const r = await execa(process.execPath, ["--import", trace, CLI, ...args], { reject: false });
      expect(r.stderr).not.toMatch(/LOADED/);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
    // The probe itself works: loading React through it is reported.
    const check = await execa(process.execPath, ["--import", trace, "--input-type=module", "-e", 'await import("react")'], { reject: false, cwd: ROOT });
    expect(check.stderr).toMatch(/LOADED .*node_modules\/react\//);
  });

  it("rejects an unknown command with usage and exit 2", async () => {
    const r = await execa(path.join(ROOT, "bin/bootc"), ["frobnicate"], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/unknown command "frobnicate"/);
  });
});
