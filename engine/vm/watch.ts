/**
 * The edit → build → boot loop: build an image from a Containerfile directory, boot it,
 * and on every change under the directory (debounced; ignoring what .containerignore or
 * .dockerignore excludes) build again. A new image digest reboots the VM into it with the
 * same name and options (an ephemeral VM soft-reboots: its kernel stays, its root is swapped);
 * an unchanged digest does nothing; a failed build leaves the VM
 * running as it was and reports the error.
 */
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { buildImage } from "../images/build.js";
import { ignoreMatcher } from "./ignore.js";
import type { VmInfo } from "../core/vm.js";
import type { Engine } from "./manager.js";
import type { RunOptions } from "../core/schema.js";

export type WatchEvent =
  | { type: "build-started"; reason: string }
  | { type: "build-log"; line: string }
  | { type: "build-failed"; error: string }
  | { type: "image-unchanged"; imageId: string }
  /** Rebooting into this new image (`soft`: done already, the kernel kept); the one it replaced was removed. */
  | { type: "rebooting"; imageId: string; soft: boolean; removedImageId?: string }
  /** Why the loop did something slower than it could (a full reboot instead of a soft one). */
  | { type: "warning"; message: string }
  | { type: "ready"; vm: VmInfo }
  /** Watching the directory failed (it was removed, or the host's watch limit was hit): no more rebuilds. */
  | { type: "watch-failed"; error: string };

export interface WatchOptions {
  dir: string;
  tag: string;
  run: Omit<RunOptions, "image">;
  debounceMs?: number;
  onEvent: (e: WatchEvent) => void;
}

export interface SourceWatcher {
  close(): void;
}

/**
 * Calls `onChange(path)` after changes under `dir` settle (debounced), skipping paths the
 * directory's .containerignore (or .dockerignore) excludes from the build context.
 */
export async function watchSource(
  dir: string,
  onChange: (relPath: string) => void,
  debounceMs = 500,
  onError: (e: Error) => void = () => undefined,
): Promise<SourceWatcher> {
  const root = path.resolve(dir);
  const patterns = await Promise.all([".containerignore", ".dockerignore"].map((f) => readFile(path.join(root, f), "utf8").catch(() => "")));
  const ignored = ignoreMatcher((patterns.find((p) => p) ?? "").split("\n"));
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(root, { recursive: true }, (_event, file) => {
    const rel = String(file ?? "");
    if (!rel || ignored(rel)) return;
    clearTimeout(timer);
    timer = setTimeout(() => onChange(rel), debounceMs);
  });
  // Without a handler, an error (the directory removed, ENOSPC for inotify watches) would end the process.
  watcher.on("error", (e) => {
    clearTimeout(timer);
    watcher.close();
    onError(e);
  });
  return {
    close: () => {
      clearTimeout(timer);
      watcher.close();
    },
  };
}

export class WatchLoop {
  private watcher?: SourceWatcher;
  private busy = false;
  private again = false;
  private stopped = false;
  name = "";

  constructor(
    private readonly engine: Engine,
    private readonly o: WatchOptions,
  ) {}

  /** Builds, boots, and starts watching. Resolves once the first boot is ready. */
  async start(): Promise<VmInfo> {
    this.o.onEvent({ type: "build-started", reason: "initial build" });
    // In the podman the image is booted from: the local one, or the VM's connection (the image stays there).
    await buildImage({
      dir: this.o.dir,
      tag: this.o.tag,
      onLine: (line) => this.o.onEvent({ type: "build-log", line }),
      ...(this.o.run.podman ? { podman: this.o.run.podman } : {}),
    });
    const vm = await this.engine.createVm({ ...this.o.run, image: this.o.tag });
    this.name = vm.name;
    if (this.stopped) {
      // Interrupted while the VM was being created: do not leave it behind.
      await this.engine.stopVm(vm.name, { force: true }).catch(() => undefined);
      throw new Error("stopped before the VM was ready");
    }
    const ready = await this.engine.waitFor(vm.name, "ssh-ready").catch(async (e: unknown) => {
      // The loop ends here, so its VM does too (one whose SSH never answered would run on).
      await this.engine.stopVm(vm.name, { force: true }).catch(() => undefined);
      throw e;
    });
    this.o.onEvent({ type: "ready", vm: ready });
    await this.watch();
    return ready;
  }

  private async watch(): Promise<void> {
    this.watcher = await watchSource(
      this.o.dir,
      (changed) => void this.rebuild(changed),
      this.o.debounceMs,
      (e) => this.o.onEvent({ type: "watch-failed", error: `watching ${this.o.dir} failed (${e.message}): changes are no longer rebuilt` }),
    );
  }

  private async rebuild(changed: string): Promise<void> {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      this.o.onEvent({ type: "build-started", reason: `${changed} changed` });
      const r = await this.engine.rebuildAndReboot(
        this.name,
        (line) => this.o.onEvent({ type: "build-log", line }),
        (message) => this.o.onEvent({ type: "warning", message }),
      );
      if (!r.rebooted) {
        this.o.onEvent({ type: "image-unchanged", imageId: r.imageId });
      } else {
        this.o.onEvent({ type: "rebooting", imageId: r.imageId, soft: r.soft, ...(r.removedImageId ? { removedImageId: r.removedImageId } : {}) });
        this.o.onEvent({ type: "ready", vm: await this.engine.waitFor(this.name, "ssh-ready") });
      }
    } catch (e) {
      this.o.onEvent({ type: "build-failed", error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.busy = false;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.rebuild("more changes");
      }
    }
  }

  /** Stops watching and stops the VM (removing it if it was started with removeOnStop). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.name) await this.engine.stopVm(this.name, { timeoutSec: 60 }).catch(() => undefined);
  }
}
