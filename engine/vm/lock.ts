/**
 * Serialising commands on one VM: a lock file in its directory (see ../lockfile.ts).
 * A lost race gets VM_BUSY.
 */
import path from "node:path";
import { BootcError } from "../errors.js";
import { lockOwner, tryLock, unlock } from "../lockfile.js";

export async function withVmLock<T>(vmDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  const file = path.join(vmDir, "lock");
  let locked: boolean;
  try {
    locked = await tryLock(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    throw e;
  }
  if (!locked) throw new BootcError("VM_BUSY", `VM "${name}" is busy with another command (pid ${await lockOwner(file)})`, "wait for it to finish, then try again");
  try {
    return await fn();
  } finally {
    await unlock(file);
  }
}
