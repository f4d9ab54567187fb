/**
 * `bootc to-disk`: a disk image for other tools. The exported qcow2 of the demo image (a
 * direct-built base, given an EFI system partition with systemd-boot) boots with plain
 * qemu and UEFI firmware — no bootc-console involved — to the login prompt; the file
 * appears only when complete.
 */
import { copyFileSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, DEMO_BANNER, DEMO_IMAGE, makeHome, processesUsing, tempDir, waitUntil } from "./lib/harness.js";

const home = makeHome();
const out = tempDir("bce-export-");
afterAll(() => expect(processesUsing(home)).toEqual([]));

describe("bootc to-disk", () => {
  it("writes a qcow2 that boots with plain qemu and UEFI firmware to the login prompt", async () => {
    const file = path.join(out, "demo.qcow2");
    const r = await bootc(home, ["to-disk", "--json", DEMO_IMAGE, file]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ file, format: "qcow2", builder: "direct" });
    expect((await execa("qemu-img", ["info", "--output=json", file])).stdout).toContain('"format": "qcow2"');
    expect(readdirSync(out)).toEqual(["demo.qcow2"]); // no work files left beside it

    const vars = path.join(out, "vars.fd");
    copyFileSync("/usr/share/OVMF/OVMF_VARS_4M.fd", vars);
    const qemu = execa(
      "qemu-system-x86_64",
      [
        "-machine",
        "q35",
        "-accel",
        // The engine's translation cache (TCG_TB_CACHE_MIB): the same boot on less CPU.
        "tcg,thread=single,tb-size=256",
        "-m",
        "1024",
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-drive",
        "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
        "-drive",
        `if=pflash,format=raw,unit=1,file=${vars}`,
        "-drive",
        `file=${file},format=qcow2,if=virtio,snapshot=on`,
      ],
      { reject: false, buffer: false, stdin: "ignore" },
    );
    let serial = "";
    qemu.stdout?.on("data", (d: Buffer) => (serial += d.toString()));
    try {
      await waitUntil(
        "the exported disk to boot to a login prompt",
        () => {
          // The prompt, after the banner; kernel messages may follow it on the same line.
          const banner = serial.indexOf(DEMO_BANNER);
          return (banner >= 0 && serial.includes(" login:", banner)) || undefined;
        },
        600_000,
        1000,
      ).catch(() => {
        throw new Error(`the exported disk did not reach a login prompt; serial:\n${serial.slice(-2000)}`);
      });
    } finally {
      qemu.kill("SIGKILL");
      await qemu;
    }
  }, 900_000);

  it("reuses the cached base for a second export, here as raw with an ESP and a root partition", async () => {
    const file = path.join(out, "demo.raw");
    const r = await bootc(home, ["to-disk", "--format", "raw", "--json", DEMO_IMAGE, file]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ reused: true, format: "raw" });
    const table = (await execa("sfdisk", ["--json", file])).stdout;
    expect(JSON.parse(table).partitiontable.partitions.map((p: { name: string }) => p.name)).toEqual(["esp", "root"]);
  });

  it("refuses an existing file, an unknown format and a missing directory, and leaves no file when killed", async () => {
    const existing = await bootc(home, ["to-disk", DEMO_IMAGE, path.join(out, "demo.raw")]);
    expect(existing.exitCode).toBe(1);
    expect(String(existing.stderr)).toContain(`error: ${path.join(out, "demo.raw")} already exists`);
    const format = await bootc(home, ["to-disk", "--format", "vdi", DEMO_IMAGE, path.join(out, "x.vdi")]);
    expect(String(format.stderr)).toMatch(/--format "vdi" is not one of raw, qcow2, vmdk/);
    const dir = await bootc(home, ["to-disk", DEMO_IMAGE, "/nonexistent/dir/x.qcow2"]);
    expect(String(dir.stderr)).toContain("the directory of /nonexistent/dir/x.qcow2 does not exist");

    const file = path.join(out, "killed.qcow2");
    const child = bootc(home, ["to-disk", DEMO_IMAGE, file]);
    await waitUntil("the export to start writing", () => readdirSync(out).some((n) => n.startsWith(".killed.qcow2.partial-")) || undefined, 60_000, 20);
    child.kill("SIGKILL");
    await child;
    expect(existsSync(file)).toBe(false);
    // The next export of that name clears what the killed one left, and succeeds.
    const again = await bootc(home, ["to-disk", DEMO_IMAGE, file]);
    expect(again.exitCode, String(again.all)).toBe(0);
    expect(readdirSync(out).filter((n) => n.includes("partial"))).toEqual([]);
  }, 300_000);
});
