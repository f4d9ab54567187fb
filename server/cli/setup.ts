/**
 * `bootc setup`: prepares this host by running the package's own scripts/setup.sh, the one
 * place that knows what a host needs (a clone runs the same file directly). The script's
 * output is the user's to read, so it runs on this terminal; `sudo` may ask for a password.
 */
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { BootcError } from "../../engine/core/errors.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc setup [--check | --dry-run]

Installs and configures what this host needs to run bootc-console: the OS packages
(podman, qemu, virtiofsd, UEFI firmware, xorriso, OpenSSH, debootstrap, … with apt on
Debian/Ubuntu, dnf on Fedora; on macOS it prints the Homebrew line), podman's
configuration where podman cannot run a container as it is (runc with low ulimits),
subordinate ids for a regular user (rootless podman) and the local probe image. It uses
sudo when not run as root, changes only what is missing, says what it changed, and is
safe to re-run. Run from a clone, it also installs the npm dependencies and builds.

Options:
  --check      change nothing; list what is missing and exit 1 if anything is
  --dry-run    change nothing; print what it would do

bootc doctor is the detailed report: what was found, and how each check went.`;

/** scripts/setup.sh, which the package ships next to dist/ (dist/server/cli/ → the root). */
export const SETUP_SCRIPT = fileURLToPath(new URL("../../../scripts/setup.sh", import.meta.url));

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { check: { type: "boolean" }, "dry-run": { type: "boolean" } } }, HELP);
  if (values.check && values["dry-run"])
    throw new BootcError(
      "INVALID_ARGUMENT",
      "--check and --dry-run cannot be given together",
      "use --check to list what is missing, --dry-run to see what setup would do",
    );
  const args = values.check ? ["--check"] : values["dry-run"] ? ["--dry-run"] : [];
  const r = await execa("bash", [SETUP_SCRIPT, ...args], { stdio: "inherit", reject: false });
  // Neither an exit code nor a signal: bash itself could not be started.
  if (r.exitCode === undefined && !r.isTerminated)
    throw new BootcError("MISSING_TOOL", `cannot run ${SETUP_SCRIPT}: ${r.shortMessage}`, "bootc setup needs bash on PATH");
  return r.exitCode ?? 1;
}
