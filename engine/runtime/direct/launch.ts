/** Starting a VM's monitor: a detached Node process that owns the VM until it ends (supervisor.ts). */
import { closeSync, openSync, renameSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BootcError } from "../../core/errors.js";
import { vmPaths, type EnginePaths } from "../../core/paths.js";
import { processStartId } from "../../core/proc.js";

const MONITOR_LOG_BYTES = 1024 * 1024;
const MONITOR_MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/**
 * Starts the monitor of the VM whose record is written; returns its pid and start identity.
 * The monitor finds its VM from the same environment (BOOTC_HOME / XDG), which it inherits;
 * `node` runs it (inside Electron, process.execPath is the app, not Node).
 */
export function startMonitor(name: string, paths: EnginePaths, node: string): { pid: number; startId?: string } {
  const monitorLog = vmPaths(name, paths).monitorLog;
  // Each boot appends; past a cap the old log moves aside (one kept), so it cannot grow forever.
  if ((statSync(monitorLog, { throwIfNoEntry: false })?.size ?? 0) > MONITOR_LOG_BYTES) renameSync(monitorLog, `${monitorLog}.1`);
  const log = openSync(monitorLog, "a", 0o600);
  try {
    // Detached: the monitor outlives the command that started it (the CLI returns,
    // the web server restarts) and owns the VM until it ends.
    const child = spawn(node, [MONITOR_MAIN, name], { detached: true, stdio: ["ignore", log, log] });
    child.on("error", () => undefined); // a spawn that failed is reported below, not as a crash
    child.unref();
    if (!child.pid) {
      throw new BootcError("MISSING_TOOL", `the monitor process for VM "${name}" could not be started`, `check that ${node} can run, and see ${monitorLog}`);
    }
    return { pid: child.pid, startId: processStartId(child.pid) };
  } finally {
    closeSync(log);
  }
}
