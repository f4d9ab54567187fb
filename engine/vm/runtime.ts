/**
 * The seam between VM management and where VMs run. Today: local qemu, each VM owned by
 * a detached monitor process on this host. A libvirt or remote runtime can implement the
 * same interface later without the CLI or server changing.
 */
import { closeSync, openSync, renameSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { attachConsole, requestStop, watchEvents, type ConsoleAttachment, type StopRequest } from "../monitor/client.js";
import type { MonitorEvent, StopReply } from "../monitor/protocol.js";
import { BootcError } from "../errors.js";
import { vmPaths, type EnginePaths } from "../paths.js";
import { processStartId } from "../proc.js";

export interface VmRuntime {
  /** Starts the VM described by its record; returns the supervisor's pid and its start identity. */
  start(name: string): { pid: number; startId?: string };
  stop(name: string, req: StopRequest): Promise<StopReply>;
  events(name: string, onEvent: (e: MonitorEvent) => void): Promise<{ close: () => void; closed: Promise<void> }>;
  console(name: string): Promise<ConsoleAttachment>;
}

const MONITOR_LOG_BYTES = 1024 * 1024;
const MONITOR_MAIN = fileURLToPath(new URL("../monitor/main.js", import.meta.url));

/** The monitor finds its VM from the same environment (BOOTC_HOME / XDG), which it inherits. */
export class LocalRuntime implements VmRuntime {
  /**
   * `node` runs the monitor: inside Electron, process.execPath is the app, not Node, so a
   * host application names its Node binary here (or in BOOTC_NODE).
   */
  constructor(
    private readonly paths: EnginePaths,
    private readonly node: string = process.env.BOOTC_NODE || process.execPath,
  ) {}

  start(name: string): { pid: number; startId?: string } {
    const monitorLog = vmPaths(name, this.paths).monitorLog;
    // Each boot appends; past a cap the old log moves aside (one kept), so it cannot grow forever.
    if ((statSync(monitorLog, { throwIfNoEntry: false })?.size ?? 0) > MONITOR_LOG_BYTES) renameSync(monitorLog, `${monitorLog}.1`);
    const log = openSync(monitorLog, "a", 0o600);
    try {
      // Detached: the monitor outlives the command that started it (the CLI returns,
      // the web server restarts) and owns the VM until it ends.
      const child = spawn(this.node, [MONITOR_MAIN, name], {
        detached: true,
        stdio: ["ignore", log, log],
      });
      child.on("error", () => undefined); // a spawn that failed is reported below, not as a crash
      child.unref();
      if (!child.pid) {
        throw new BootcError("MISSING_TOOL", `the monitor process for VM "${name}" could not be started`, `check that ${this.node} can run, and see ${monitorLog}`);
      }
      return { pid: child.pid, startId: processStartId(child.pid) };
    } finally {
      closeSync(log);
    }
  }

  stop(name: string, req: StopRequest): Promise<StopReply> {
    return requestStop(name, req, this.paths);
  }

  events(name: string, onEvent: (e: MonitorEvent) => void) {
    return watchEvents(name, onEvent, this.paths);
  }

  console(name: string): Promise<ConsoleAttachment> {
    return attachConsole(name, this.paths);
  }
}
