/**
 * The edit → build → boot loop with a real guest: `bootc run --watch DIR` builds a
 * Containerfile FROM the demo image, boots it, reboots fully into each new build (soft
 * reboots turned off: soft-reboot.e2e.ts tests those), keeps the VM
 * running through a broken build, and stops the VM when the watch stops.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("watch.e2e.ts");
const dir = tempDir("bce-watch-src-");
const share = tempDir("bce-watch-share-");
const TAG = "localhost/bootc-watch-e2e:latest";
const containerfile = (extra = "") => `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n${extra}`;

describe("bootc run --watch", () => {
  let out = "";
  let watcher: ReturnType<typeof bootc>;
  const readyCount = () => (out.match(/watched is ready/g) ?? []).length;

  afterAll(async () => {
    watcher?.kill("SIGKILL");
    await bootc(home, ["rm", "--force", "watched"]);
    await execa("podman", ["rmi", "-f", TAG], { reject: false });
  });

  it("--json reports the loop's events as JSON lines (here: a first build that fails)", async () => {
    const broken = tempDir("bce-watch-broken-");
    writeFileSync(path.join(broken, "Containerfile"), `FROM ${DEMO_IMAGE}\nNOTANINSTRUCTION\n`);
    const r = await bootc(home, ["run", "--watch", broken, "-t", "localhost/bootc-watch-broken:latest", "--json"]);
    expect(r.exitCode).toBe(1);
    const events = String(r.stdout)
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; at: string });
    expect(events[0]).toMatchObject({ type: "build-started", reason: "initial build" });
    expect(events.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(events.some((e) => e.type === "build-log")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "failed", error: { code: "BUILD_FAILED" } });
  });

  it("builds the directory and boots the image", async () => {
    writeFileSync(path.join(dir, "motd"), "version 1\n");
    writeFileSync(path.join(dir, "Containerfile"), containerfile());
    // The full reboot (the old boot flushed and killed, the new one booted): soft reboots,
    // the default for this VM, have their own file (soft-reboot.e2e.ts).
    watcher = bootc(home, ["run", "--watch", dir, "-t", TAG, "--name", "watched", "--memory", "2G", "--bind", `${share}:/mnt/share`], {
      buffer: false,
      env: { BOOTC_SOFT_REBOOT: "0" },
    });
    watcher.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    watcher.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await waitUntil("the first boot", () => readyCount() >= 1 || undefined, 600_000, 1000);
    const r = await bootc(home, ["ssh", "watched", "--", "cat", "/etc/motd"]);
    expect(String(r.stdout).trim()).toBe("version 1");
  });

  it("reboots into the new image when a file changes, and an attached `bootc console` follows", async () => {
    // A CLI viewer attached before the change stays attached through the reboot.
    const viewer = bootc(home, ["console", "watched"], { buffer: false, stdin: "pipe" });
    let seen = "";
    viewer.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil("the console to attach", () => seen.length > 0 || undefined, 60_000, 200);
    const first = (await bootcJson<{ imageId: string }>(home, ["inspect", "watched"])).imageId;
    // The old boot is ended fast (flushed, then killed): what it wrote to a share must survive.
    const wrote = await bootc(home, ["ssh", "watched", "--", "sh", "-c", "seq 1 100000 > /mnt/share/before-reboot.txt"]);
    expect(wrote.exitCode, String(wrote.all)).toBe(0);
    writeFileSync(path.join(dir, "motd"), "version 2\n");
    await waitUntil("the reboot into the new image", () => readyCount() >= 2 || undefined, 600_000, 1000);
    expect(out).toMatch(/new image [0-9a-f]{12}: rebooting the VM into it/);
    // The first build, now untagged, was removed rather than left to pile up.
    expect(out).toContain(`removed the image it replaced, ${first.slice(0, 12)}`);
    expect((await execa("podman", ["image", "exists", first], { reject: false })).exitCode).toBe(1);
    const r = await bootc(home, ["ssh", "watched", "--", "cat", "/etc/motd"]);
    expect(String(r.stdout).trim()).toBe("version 2");
    expect(readFileSync(path.join(share, "before-reboot.txt"), "utf8").split("\n")).toHaveLength(100_001);
    // The viewer marked the new boot and shows its output after the marker.
    await waitUntil("the new boot in the viewer", () => /── new boot ──[\s\S]*(\[ *\d+\.\d+\]|systemd|login:)/.test(seen) || undefined, 120_000, 500);
    expect(viewer.exitCode).toBeNull();
    viewer.kill("SIGTERM");
    await viewer;
  });

  it("keeps the VM running when a build fails, and reports the error", async () => {
    writeFileSync(path.join(dir, "Containerfile"), containerfile("NOTANINSTRUCTION oops\n"));
    await waitUntil("the failed build", () => /build failed; the VM keeps running/.test(out) || undefined, 300_000, 500);
    expect(out).toMatch(/NOTANINSTRUCTION|unknown instruction/i);
    const list = await bootcJson<Array<{ name: string; effectiveState: string }>>(home, ["list"]);
    expect(list.find((v) => v.name === "watched")?.effectiveState).toBe("ssh-ready");
    const r = await bootc(home, ["ssh", "watched", "--", "cat", "/etc/motd"]);
    expect(String(r.stdout).trim()).toBe("version 2");
  });

  it("stops the VM when the watch stops, leaving no image mounted", async () => {
    watcher.kill("SIGINT");
    const r = await watcher;
    expect(r.exitCode).toBe(0);
    const list = await bootcJson<Array<{ name: string; effectiveState: string }>>(home, ["list"]);
    expect(list.find((v) => v.name === "watched")?.effectiveState).toBe("stopped");
    expect(await mounts.left()).toEqual([]); // neither the first build's nor the rebuild's
  });
});
