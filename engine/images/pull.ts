/**
 * Pulling and removing images. A fully qualified reference (registry/name[:tag]) is pulled
 * through podman's Docker-compatible API, served for the pull alone by a `podman system
 * service` this process owns: it reports bytes per layer, where `podman pull` without a
 * terminal prints only which blobs it starts. A short name goes through `podman pull`, so
 * podman's own short-name rules (registries.conf aliases, search registries) apply.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { rm } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import type { PULL_POLICIES } from "../core/schema.js";
import { spawnOwned, waitForFile } from "../host/spawn.js";
import { enginePaths, pullSocket, type EnginePaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { podman, podmanCommand, podmanPath, remotePodmanError } from "../host/podman.js";
import { describePodman, isRemotePodman, type PodmanConnection } from "../core/podman-connection.js";

/** Where a pull is: layers known and finished, and bytes (of the layers whose size is known). */
export interface PullProgress {
  layers: number;
  layersDone: number;
  bytes: number;
  totalBytes: number;
}

export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface PullHooks {
  /** podman's own words, one line per step (not per progress tick). */
  onLine?: (line: string) => void;
  onProgress?: (p: PullProgress) => void;
  /** OS/ARCH as podman's --platform, validated (parsePlatform); by default the host's. */
  platform?: string;
}

function checkRef(ref: string): void {
  if (!ref || ref.startsWith("-") || /\s/.test(ref))
    throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`, "use a reference such as quay.io/fedora/fedora-bootc:42");
}

/** registry.example/name, 127.0.0.1:5000/name: the first component names a registry. */
export function isQualified(ref: string): boolean {
  const slash = ref.indexOf("/");
  if (slash < 0) return false;
  const first = ref.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost";
}

/** Images under localhost/ are built here (podman's convention): there is nowhere to pull them from. */
const isLocalOnly = (ref: string) => ref.startsWith("localhost/");

/** Whether `ref` is in that podman; another podman that cannot be reached is that error, not "no". */
export async function imageExists(ref: string, c?: PodmanConnection): Promise<boolean> {
  return podman(["image", "exists", ref], {}, c).then(
    () => true,
    (e: unknown) => {
      if (isRemotePodman(c) && e instanceof BootcError && e.code === "PODMAN_UNREACHABLE") throw e;
      return false;
    },
  );
}

/**
 * Makes sure `ref` is in local storage as `policy` says: "missing" pulls it only when it
 * is absent, "always" pulls it (a newer build replaces the tag), "never" only checks.
 * Returns whether it pulled.
 */
export async function ensureImage(
  ref: string,
  policy: PullPolicy,
  hooks: PullHooks = {},
  paths: EnginePaths = enginePaths(),
  c?: PodmanConnection,
): Promise<boolean> {
  checkRef(ref);
  const local = policy === "always" && !isLocalOnly(ref) ? false : await imageExists(ref, c);
  if (local && policy !== "always") return false;
  if (policy === "never" || isLocalOnly(ref)) {
    if (local) return false;
    const remote = isRemotePodman(c);
    throw new BootcError(
      "IMAGE_NOT_FOUND",
      `image "${ref}" is not in ${remote ? describePodman(c) : "local storage"}`,
      isLocalOnly(ref)
        ? remote
          ? `list its images with \`bootc images\` and the same connection, or build it there`
          : "list local images with `bootc images`; build the demo image with `bootc demo build`"
        : `pull it (drop --pull=never, or run podman pull ${ref})`,
    );
  }
  hooks.onLine?.(`pulling ${ref}${isRemotePodman(c) ? ` into ${describePodman(c)}` : ""}${hooks.platform ? ` for ${hooks.platform}` : ""}`);
  await pullImage(ref, hooks, paths, c);
  return true;
}

/**
 * Pulls `ref` into the local podman, or into another (`c`): there the pull runs in that
 * podman (its registries, its network), with `podman pull`'s lines as progress.
 */
export async function pullImage(
  ref: string,
  hooks: PullHooks | ((line: string) => void) = {},
  paths: EnginePaths = enginePaths(),
  c?: PodmanConnection,
): Promise<void> {
  const h = typeof hooks === "function" ? { onLine: hooks } : hooks;
  checkRef(ref);
  if (isQualified(ref) && !isRemotePodman(c)) await pullThroughApi(ref, h, paths);
  else await pullWithCli(ref, h, c);
}

/** Folds the API's per-layer events into one progress figure. */
export class LayerTally {
  private readonly layers = new Map<string, { current: number; total: number; done: boolean }>();

  /** Takes one event; returns the line to show when the layer's step changed. */
  take(e: { status?: string; id?: string; progressDetail?: { current?: number; total?: number } }): string | undefined {
    if (!e.id || !e.status) return e.status;
    const layer = this.layers.get(e.id) ?? { current: 0, total: 0, done: false };
    const first = !this.layers.has(e.id);
    this.layers.set(e.id, layer);
    if (e.progressDetail?.total) layer.total = e.progressDetail.total;
    if (e.progressDetail?.current !== undefined) layer.current = e.progressDetail.current;
    const wasDone = layer.done;
    if (/complete|already exists/i.test(e.status)) {
      layer.done = true;
      if (layer.total) layer.current = layer.total;
    }
    return first || layer.done !== wasDone ? `${e.id}: ${e.status}` : undefined;
  }

  get progress(): PullProgress {
    const all = [...this.layers.values()];
    return {
      layers: all.length,
      layersDone: all.filter((l) => l.done).length,
      bytes: all.reduce((n, l) => n + l.current, 0),
      totalBytes: all.reduce((n, l) => n + l.total, 0),
    };
  }
}

async function pullThroughApi(ref: string, h: PullHooks, paths: EnginePaths): Promise<void> {
  const socket = pullSocket(paths, randomBytes(8).toString("hex"));
  await ensurePrivateDir(path.dirname(socket), paths);
  // Owned like the monitor's children: it dies with this process, and is ended below.
  const service = spawnOwned(podmanPath(), ["system", "service", "--time=0", `unix://${socket}`], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let alive = true;
  let stderr = "";
  service.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  void service.then(() => (alive = false));
  try {
    if (!(await waitForFile(socket, 20_000, () => alive))) {
      throw new BootcError("PODMAN_FAILED", `podman's API service did not start: ${stderr.trim() || "no output"}`, "check `podman info`");
    }
    const error = await streamPull(socket, ref, h);
    if (error) throw pullError(ref, error);
  } finally {
    service.kill("SIGTERM");
    await service;
    await rm(socket, { force: true });
  }
  if (!(await imageExists(ref))) throw new BootcError("PODMAN_FAILED", `pulling ${ref} ended, but the image is not in local storage`, "try podman pull " + ref);
}

/** POSTs the Docker-compatible pull and reads its JSON lines; resolves with the error the stream reported, if any. */
function streamPull(socket: string, ref: string, h: PullHooks): Promise<string | undefined> {
  const tally = new LayerTally();
  const query = `fromImage=${encodeURIComponent(ref)}${h.platform ? `&platform=${encodeURIComponent(h.platform)}` : ""}`;
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: "POST", path: `/v1.41/images/create?${query}` }, (res) => {
      let buf = "";
      let error: string | undefined = res.statusCode && res.statusCode >= 400 ? `HTTP ${res.statusCode}` : undefined;
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          let e: { status?: string; id?: string; error?: string; message?: string; progressDetail?: { current?: number; total?: number } };
          try {
            e = JSON.parse(line);
          } catch {
            continue; // not an event: nothing to show
          }
          if (e.error || (error && e.message)) {
            error = e.error ?? e.message;
            continue;
          }
          const step = tally.take(e);
          if (step) h.onLine?.(step);
          h.onProgress?.(tally.progress);
        }
      });
      res.on("end", () => resolve(error));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function pullError(ref: string, detail: string): BootcError {
  if (/short-name .* did not resolve|unqualified-search registries/i.test(detail)) {
    return new BootcError(
      "IMAGE_NOT_FOUND",
      `image "${ref}" is not in local storage, and podman cannot tell which registry to pull a short name from`,
      "give the full name (registry/name:tag, e.g. quay.io/fedora/fedora-bootc:42), or see local images with bootc images",
    );
  }
  if (/manifest unknown|not found|name unknown|no such image/i.test(detail)) {
    return new BootcError(
      "IMAGE_NOT_FOUND",
      `the registry has no image ${ref}`,
      "check the name and tag (skopeo list-tags docker://REPOSITORY lists the tags)",
    );
  }
  if (/unauthorized|authentication required|denied/i.test(detail)) {
    return new BootcError("PODMAN_FAILED", `the registry refused to give ${ref}: ${detail}`, "log in first: podman login REGISTRY");
  }
  return new BootcError(
    "PODMAN_FAILED",
    `pulling ${ref} failed: ${detail}`,
    "check the reference and that the registry is reachable; offline, build the demo image instead",
  );
}

/** `podman pull` for a short name: its lines as progress (no bytes: without a terminal podman prints none). */
async function pullWithCli(ref: string, h: PullHooks, c?: PodmanConnection): Promise<void> {
  const cmd = podmanCommand(["pull", ...(h.platform ? ["--platform", h.platform] : []), ref], c);
  const child = execa(cmd.file, cmd.args, { ...cmd.options, all: true, reject: false, buffer: false });
  const tail: string[] = [];
  let blobs = 0;
  for await (const line of child.iterable({ from: "all" })) {
    const text = String(line);
    tail.push(text);
    if (tail.length > 5) tail.shift();
    h.onLine?.(text);
    if (/^Copying blob /.test(text)) h.onProgress?.({ layers: ++blobs, layersDone: 0, bytes: 0, totalBytes: 0 });
  }
  const r = await child;
  if (r.exitCode !== 0) throw (isRemotePodman(c) ? remotePodmanError(tail.join("\n"), c) : undefined) ?? pullError(ref, tail.join(" ").trim());
  h.onProgress?.({ layers: blobs, layersDone: blobs, bytes: 0, totalBytes: 0 });
}

/** `podman rmi REF` in the local podman, or in another (`c`, a connection). */
export async function removeImage(ref: string, c?: PodmanConnection): Promise<void> {
  if (!ref || ref.startsWith("-")) throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`);
  await podman(["rmi", ref], {}, c).catch((e: unknown) => {
    if (e instanceof BootcError && e.code === "PODMAN_UNREACHABLE") throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (/image not known|no such image/i.test(msg))
      throw new BootcError("IMAGE_NOT_FOUND", isRemotePodman(c) ? `image "${ref}" is not in ${describePodman(c)}` : `image "${ref}" is not in local storage`);
    if (/in use|being used|mounted/i.test(msg)) throw new BootcError("VM_RUNNING", `image "${ref}" is in use`, "stop and remove the VMs that use it first");
    throw e;
  });
}
