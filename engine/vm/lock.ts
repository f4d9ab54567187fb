/**
 * Serialising commands on one VM: a lock file created with O_EXCL holding the owner's
 * pid. A lock whose owner is dead is stale and is taken over. A lost race gets VM_BUSY.
 */
import { open, readFile, unlink } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../errors.js";
import { isAlive } from "../monitor/children.js";

export async function withVmLock<T>(vmDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(vmDir, "lock");
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(file, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
      const owner = Number(await readFile(file, "utf8").catch(() => "0"));
      if (attempt === 0 && !isAlive(owner)) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      throw new BootcError("VM_BUSY", `VM "${name}" is busy with another command (pid ${owner})`, "wait for it to finish, then try again");
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(file).catch(() => undefined);
  }
}
