/**
 * Edit → build → boot benchmark (prints figures; not a test): with a VM running an image
 * built from a directory, save a file, and time until the VM answers SSH on the new image,
 * with the phase breakdown from the VM's boot timeline. The rebuild ends the old boot fast
 * (flush shares, kill qemu); the baseline is a graceful ACPI stop of the same VM, timed
 * afterwards in the same run.
 *   npx tsx e2e/bench/loop.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const { buildImage } = await import("../../dist/engine/images/build.js");
const src = mkdtempSync("/tmp/bce-loop-");
const TAG = "localhost/bootc-loop-bench:latest";
writeFileSync(path.join(src, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n`);
writeFileSync(path.join(src, "motd"), "version 1\n");

const engine = new Engine();
try {
  await buildImage({ dir: src, tag: TAG });
  await engine.createVm({ image: TAG, name: "loop", memoryMiB: 2048 });
  await engine.waitFor("loop", "ssh-ready");
  const saved = Date.now();
  writeFileSync(path.join(src, "motd"), "version 2\n");
  await engine.rebuildAndReboot("loop");
  const vm = await engine.waitFor("loop", "ssh-ready");
  const total = Date.now() - saved;
  const motd = (await engine.exec("loop", "cat /etc/motd")).stdout.trim();
  const at = (e: string) => vm.timeline.find((t: { event: string }) => t.event === e)?.at;
  const rel = (e: string) => (at(e) ? `${((Date.parse(at(e)!) - saved) / 1000).toFixed(1)} s` : "n/a");
  console.log(`file save → ssh-ready on the new image: ${(total / 1000).toFixed(1)} s (guest says: ${motd})`);
  console.log(
    `phases after the save: ${["build-started", "build-finished", "previous-boot-stopped", "created", "image-mounted", "qemu-started", "first-serial-byte", "kernel-to-userspace", "ssh-ready"].map((e) => `${e} +${rel(e)}`).join(", ")}`,
  );
  const ended = Date.parse(at("previous-boot-stopped")!) - Date.parse(at("build-finished")!);
  const t0 = Date.now();
  await engine.stopVm("loop", { timeoutSec: 60 });
  const acpi = Date.now() - t0;
  console.log(
    `ending the old boot: ${(ended / 1000).toFixed(1)} s (flush + kill); an ACPI stop of the same VM (baseline): ${(acpi / 1000).toFixed(1)} s; ratio ${(ended / acpi).toFixed(2)}`,
  );
} finally {
  await engine.removeVm("loop", { force: true }).catch(() => undefined);
  await execa("podman", ["rmi", "-f", TAG], { reject: false });
  rmSync(src, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
