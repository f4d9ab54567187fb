import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { analyzeScript, readAnalyzeOutput } from "./guest.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("the guest's systemd-analyze round trip", () => {
  it("waits for the boot to finish, bounded, then runs the three verbs", () => {
    const s = analyzeScript(90);
    expect(s).toMatch(/^timeout 90 systemctl is-system-running --wait/);
    for (const verb of ["time", "blame", "critical-chain"]) expect(s).toContain(`systemd-analyze ${verb} --no-pager`);
  });

  it("asks at once with no wait, and reads blame and the chain only once the boot has finished", async () => {
    const s = analyzeScript(0);
    expect(s).not.toContain("is-system-running");
    // The script run by a real shell against a stand-in systemd-analyze, unfinished and finished.
    const dir = mkdtempSync(path.join(os.tmpdir(), "bce-analyze-"));
    try {
      const stub = path.join(dir, "systemd-analyze");
      writeFileSync(stub, `#!/bin/sh\necho "$1 ran"\n[ "$1" != time ] || [ -e ${dir}/finished ]\n`, { mode: 0o755 });
      const run = () => execFileSync("sh", ["-c", s], { env: { ...process.env, PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
      expect(run()).toBe("@@bootc-insight@@ time\ntime ran\n");
      writeFileSync(path.join(dir, "finished"), "");
      expect(run()).toBe("@@bootc-insight@@ time\ntime ran\n@@bootc-insight@@ blame\nblame ran\n@@bootc-insight@@ chain\ncritical-chain ran\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the sections of a real guest's answer", () => {
    const out = ["time", "blame", "chain"].map((s, i) => `@@bootc-insight@@ ${s}\n${fixture(["time.txt", "blame.txt", "critical-chain.txt"][i]!)}`).join("");
    const f = readAnalyzeOutput(out);
    expect(f.finished).toBe(true);
    expect(f.unitsFrom).toBe("systemd-analyze");
    expect(f.guest?.userspaceSec).toBe(121.973);
    expect(f.units.map((u) => u.name)).toContain("ssh.service");
    expect(f.criticalChain[2]?.name).toBe("ssh.service");
  });

  it("says why there are no units when the boot is unfinished or systemd-analyze is missing", () => {
    const unfinished = readAnalyzeOutput("@@bootc-insight@@ time\nBootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\n");
    expect(unfinished).toMatchObject({ finished: false, unitsFrom: "none", units: [] });
    expect(unfinished.note).toMatch(/had not finished/);
    expect(readAnalyzeOutput("@@bootc-insight@@ time\nsh: 1: systemd-analyze: not found\n").note).toBe("the guest has no systemd-analyze");
  });
});
