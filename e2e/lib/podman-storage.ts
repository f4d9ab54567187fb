/**
 * A test user's rootless podman storage driver, for the fixtures that run a podman as
 * another user (rootless-user.ts, remote-podman.ts).
 */
import { chownSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Puts the user's podman storage on `driver`, starting afresh (`podman system reset`) when
 * it is on another one: podman cannot change a storage's driver in place. `asUser` runs a
 * command as that user, in its own environment.
 */
export async function useStorageDriverOf(
  asUser: (cmd: string[]) => Promise<{ stdout?: unknown }>,
  account: { uid: number; gid: number; home: string },
  driver: "vfs" | "overlay",
): Promise<void> {
  const now = String((await asUser(["podman", "info", "--format", "{{.Store.GraphDriverName}}"])).stdout).trim();
  if (now === driver) return;
  await asUser(["podman", "system", "reset", "--force"]);
  const dir = path.join(account.home, ".config/containers");
  await asUser(["mkdir", "-p", dir]);
  const conf = path.join(dir, "storage.conf");
  writeFileSync(conf, `[storage]\ndriver = "${driver}"\n`);
  chownSync(conf, account.uid, account.gid);
}
