// Loaded before every end-to-end test file (vitest setupFiles), in the file's own process.
// It puts e2e/lib/podman-shim first on PATH with a ledger of this file's image mounts (see
// watchImageMounts in harness.ts): everything the file starts — the CLI, servers, monitors,
// the engine used in-process — mounts images through it. When the file ends, pass or fail,
// the temporary directories it made are removed (harness.ts).
import path from "node:path";
import { afterAll } from "vitest";
import { findOnPath } from "../../engine/host/tools.js";
import { removeTempDirs, ROOT, tempDir } from "./harness.js";

const shim = path.join(ROOT, "e2e/lib/podman-shim");
const real = findOnPath("podman");
if (!real) throw new Error("podman is not on PATH: run scripts/setup.sh --tests");
if (real !== path.join(shim, "podman")) {
  process.env.BCE_REAL_PODMAN = real;
  process.env.PATH = `${shim}:${process.env.PATH ?? ""}`;
}
process.env.BCE_MOUNT_LEDGER = path.join(tempDir("bce-ledger-"), "mounts");

afterAll(() => {
  removeTempDirs();
});
