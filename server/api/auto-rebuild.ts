/**
 * "Rebuild on change" for VMs in the web console: the server watches a VM's source
 * directory and runs a rebuild-and-reboot job after each change. Watches live as long as
 * the server (they are a convenience of this session, not VM state).
 */
import type { Engine } from "../../engine/vm/manager.js";
import { watchSource, type SourceWatcher } from "../../engine/vm/watch.js";
import type { Jobs } from "./jobs.js";

export class AutoRebuild {
  private readonly watchers = new Map<string, SourceWatcher>();

  constructor(
    private readonly engine: Engine,
    private readonly jobs: Jobs,
  ) {}

  async set(name: string, enabled: boolean): Promise<{ name: string; enabled: boolean }> {
    this.watchers.get(name)?.close();
    this.watchers.delete(name);
    if (enabled) {
      const vm = await this.engine.getVm(name);
      if (!vm.source) return { name, enabled: false };
      const watcher = await watchSource(
        vm.source,
        (changed) => this.rebuild(name, `${changed} changed`),
        500,
        (e) => {
          // The directory went away (or the host ran out of watches): this VM is no longer watched.
          if (this.watchers.get(name) === watcher) this.watchers.delete(name);
          console.error(`rebuild on change for ${name} stopped: watching ${vm.source} failed (${e.message})`);
        },
      );
      this.watchers.set(name, watcher);
    }
    return { name, enabled };
  }

  rebuild(name: string, why = "requested") {
    return this.jobs.start("rebuild", `Rebuild & reboot ${name} (${why})`, async (log) => {
      const r = await this.engine.rebuildAndReboot(name, log, (message) => log(`==> warning: ${message}`));
      log(
        !r.rebooted
          ? "==> image unchanged: no reboot"
          : r.soft
            ? `==> new image ${r.imageId.slice(0, 12)}: ${name} soft-rebooted into it (same kernel, new root)`
            : `==> new image ${r.imageId.slice(0, 12)}: ${name} is rebooting into it`,
      );
      if (r.removedImageId) log(`==> removed the image it replaced (${r.removedImageId.slice(0, 12)}, untagged)`);
    });
  }

  enabled(): string[] {
    return [...this.watchers.keys()];
  }

  closeAll(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }
}
