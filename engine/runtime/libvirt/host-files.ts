/** Where libvirt keeps a VM's serial console and log on its host (not this machine's files: see core/paths.ts). */
import path from "node:path";
import type { Connection } from "./connection.js";
import type { Host } from "./hosts.js";
import { poolPath } from "./volumes.js";

/** What a libvirt VM needs beyond its record, all derived from the connection and its name. */
export function hostFiles(c: Connection, name: string, poolDir: string) {
  const system = c.instance === "system";
  return {
    serialSocket: system ? `/var/lib/libvirt/qemu/bootc-${name}.serial` : path.join(poolDir, `bootc-vm-${name}.serial`),
    serialLog: system ? `/var/log/libvirt/qemu/bootc-${name}-serial.log` : path.join(poolDir, `bootc-vm-${name}-serial.log`),
  };
}

/** hostFiles for an existing VM: the system instance's need no call to libvirt, and nothing is created. */
export async function existingHostFiles(host: Host, name: string) {
  const c = host.connection;
  return hostFiles(c, name, c.instance === "system" ? "" : await poolPath(c, host.pool));
}
