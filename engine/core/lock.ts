/**
 * Serialising commands on one VM: lock files (VmPaths.lock in its directory, and the
 * facade's rebuild lock, paths.rebuildLockFile; see lockfile.ts).
 * A lost race gets VM_BUSY.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError } from "./errors.js";
import { lockOwner, tryLock, unlock } from "./lockfile.js";

/** tryLock, where a missing VM directory means the VM is not there. */
async function tryVmLock(file: string, name: string): Promise<boolean> {
  try {
    return await tryLock(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    throw e;
  }
}

export async function withVmLock<T>(file: string, name: string, fn: () => Promise<T>): Promise<T> {
  if (!(await tryVmLock(file, name)))
    throw new BootcError("VM_BUSY", `VM "${name}" is busy with another command (pid ${await lockOwner(file)})`, "wait for it to finish, then try again");
  try {
    return await fn();
  } finally {
    await unlock(file);
  }
}

/** Rebuilds of one VM run one after another: a second one waits for the first (polling its lock file). */
export async function withRebuildLock<T>(file: string, name: string, fn: () => Promise<T>, maxWaitMs = 60 * 60_000): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    if (await tryVmLock(file, name)) break;
    if (Date.now() > deadline)
      throw new BootcError(
        "VM_BUSY",
        `VM "${name}" is still being rebuilt by another command (pid ${await lockOwner(file)})`,
        "wait for it to finish, then try again",
      );
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await unlock(file);
  }
}
