/**
 * Shared helpers for the end-to-end tests: run the real `bootc` CLI against an isolated
 * state directory (BOOTC_HOME), and check that nothing is left behind — no process
 * started for that state directory, no image mounted by it. Two test files run at once
 * (e2e/vitest.config.ts), so every check looks at the file's own homes only.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type Options } from "execa";
import { freePort as engineFreePort } from "../../engine/core/options.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The bundled CLI, the file bin/bootc runs (with V8's code cache; tsc's unbundled dist/server/cli.js is not what users get). */
export const CLI = path.join(ROOT, "dist/bundle/bootc.cjs");
export const DEMO_IMAGE = "localhost/bootc-demo:latest";
/**
 * What the demo guest's serial console always shows once it is up: the getty's banner
 * (/etc/issue). Kernel and systemd messages are not: under TCG the engine keeps the
 * console quiet (docs/engine.md).
 */
export const DEMO_BANNER = "Debian GNU/Linux";

const made: string[] = [];
/** Every state directory this test file made (kept after removeTempDirs, for the mount ledger). */
const homes = new Set<string>();

// Also when the process ends: a file whose tests were all skipped never runs its afterAll,
// and Playwright's main process imports the specs (making their homes) without running them.
process.once("exit", () => removeTempDirs());

/** A temporary directory under /tmp, removed by removeTempDirs() when the test file ends. */
export function tempDir(prefix = "bce-"): string {
  const dir = mkdtempSync(`/tmp/${prefix}`);
  made.push(dir);
  return dir;
}

/** A short state root: runtime socket paths live below it and must stay < 108 bytes. */
export function makeHome(): string {
  const home = tempDir("bce-");
  homes.add(home);
  return home;
}

/**
 * Removes the directories this test file made (homes with their base disks, sources),
 * whether its tests passed or not. One that a process still uses (a VM a failed test left
 * running) is kept and named, so the leftover-process checks can report it.
 */
export function removeTempDirs(): string[] {
  const kept: string[] = [];
  for (const dir of made.splice(0)) {
    if (processesUsing(dir).length) kept.push(dir);
    else rmSync(dir, { recursive: true, force: true });
  }
  if (kept.length) console.warn(`kept temp dirs still in use: ${kept.join(", ")}`);
  return kept;
}

export function bootc(home: string, args: string[], options: Options = {}) {
  return execa(process.execPath, [CLI, ...args], {
    reject: false,
    all: true,
    ...options,
    env: { ...process.env, BOOTC_HOME: home, ...(options.env ?? {}) },
  });
}

export async function bootcJson<T>(home: string, args: string[]): Promise<T> {
  const r = await bootc(home, [...args, "--json"]);
  if (r.exitCode !== 0) throw new Error(`bootc ${args.join(" ")} failed (${r.exitCode}): ${r.all}`);
  return JSON.parse(String(r.stdout)) as T;
}

/**
 * A rootless podman's pause process: it holds the user's namespace and stays for the user's
 * session, as podman means it to. It inherits the environment of whichever podman started
 * it (perhaps one that bootc ran), so it is podman's, never a test's leftover.
 */
export const isPodmanPause = (pid: number): boolean => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "podman pause";

/** Processes whose command line or environment mentions `home` (monitors, qemu, virtiofsd). */
export function processesUsing(home: string): Array<{ pid: number; cmd: string }> {
  const found: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!pid || pid === process.pid) continue;
    try {
      if (isPodmanPause(pid)) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.includes(home) || env.includes(`BOOTC_HOME=${home}\0`)) found.push({ pid, cmd });
    } catch {
      // gone, or a kernel thread
    }
  }
  return found;
}

/**
 * A test file's view of image mounts. The test process puts e2e/lib/podman-shim first on
 * PATH (vitest-cleanup.ts): it runs the real podman and writes every image mount and
 * unmount that succeeded to this file's ledger, with the BOOTC_HOME it was made for.
 * `left()` lists, per home this file made, the images mounted more often than unmounted:
 * what its VMs and builds left behind. Only this file's homes count, so the mounts of files
 * running alongside, or of anything else on the host, are not blamed on it.
 */
export async function watchImageMounts(file: string): Promise<{ left: () => Promise<string[]> }> {
  const ledger = process.env.BCE_MOUNT_LEDGER;
  if (!ledger) throw new Error(`${file}: no mount ledger; run the end-to-end tests with -c e2e/vitest.config.ts`);
  return { left: async () => unbalancedMounts(ledger) };
}

function unbalancedMounts(ledger: string): string[] {
  const count = new Map<string, number>();
  const text = existsSync(ledger) ? readFileSync(ledger, "utf8") : "";
  for (const line of text.split("\n").filter(Boolean)) {
    const [verb, image, ...rest] = line.split(" ");
    const home = rest.join(" ");
    if (!homes.has(home)) continue; // the test's own mounts, made without a home
    const key = `${image} for ${home}`;
    count.set(key, (count.get(key) ?? 0) + (verb === "mount" ? 1 : -1));
  }
  return [...count].filter(([, n]) => n > 0).map(([key, n]) => `${key}: mounted ${n} more time(s) than unmounted`);
}

/**
 * A premade UEFI disk (GPT, systemd-boot on an ESP, root as partition 2) at a new path,
 * made by e2e/fixtures/premade-disk.sh from a direct-built base-disk cache entry.
 */
export async function makePremadeDisk(baseEntryDir: string): Promise<string> {
  const file = path.join(tempDir("bce-premade-"), "server.raw");
  const parts = ["disk.raw", "vmlinuz", "initramfs.img"].map((f) => path.join(baseEntryDir, f));
  const made = await execa("bash", [path.join(ROOT, "e2e/fixtures/premade-disk.sh"), file, ...parts], { reject: false });
  if (made.exitCode !== 0) throw new Error(`premade-disk.sh failed: ${made.stderr}`);
  return file;
}

export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * A TCP port free on 127.0.0.1 right now, for a server or a forward a test starts later: as
 * the engine picks a VM's SSH port, below the kernel's ephemeral range, where another file's
 * bind(0) cannot be handed it meanwhile (engine/core/options.ts).
 */
export const freePort = (): Promise<number> => engineFreePort();
