/**
 * The user's own first-boot files, read and checked when a VM is created — before
 * anything else is made — and copied into the VM's directory, so that what boots later
 * is what was checked, whatever happens to the originals.
 */
import { copyFile, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BootcError } from "../core/errors.js";
import { KICKSTART_MAX_BYTES, translateKickstart } from "./kickstart.js";

export const CLOUD_INIT_FILES = ["meta-data", "user-data", "vendor-data", "network-config"] as const;
const CLOUD_INIT_MAX_BYTES = 1024 * 1024;

async function regularFile(file: string, what: string, hint: string): Promise<{ size: number }> {
  const s = await stat(file).catch(() => undefined);
  if (!s) throw new BootcError("INVALID_ARGUMENT", `${what} ${file} does not exist`, hint);
  if (!s.isFile()) throw new BootcError("INVALID_ARGUMENT", `${what} ${file} is not a regular file`, hint);
  return s;
}

/** Reads and translates a kickstart (so a bad one fails `run`), and returns its text. */
export async function readKickstart(file: string): Promise<string> {
  const s = await regularFile(file, "kickstart", "give the path of a kickstart file, e.g. --ks ./dev.ks");
  if (s.size > KICKSTART_MAX_BYTES) throw new BootcError("INVALID_ARGUMENT", `kickstart ${file} is larger than ${KICKSTART_MAX_BYTES / 1024} KiB`, "a kickstart for bootc-console holds users, settings and %post scripts only");
  const text = await readFile(file, "utf8");
  translateKickstart(text, path.basename(file));
  return text;
}

/** Checks a NoCloud directory: user-data is required, meta-data may be absent (an empty one is made). */
export async function checkCloudInitDir(dir: string): Promise<string[]> {
  const s = await stat(dir).catch(() => undefined);
  const hint = "give a directory with a user-data file (and meta-data, vendor-data, network-config if you have them)";
  if (!s?.isDirectory()) throw new BootcError("INVALID_ARGUMENT", `cloud-init directory ${dir} ${s ? "is not a directory" : "does not exist"}`, hint);
  const present: string[] = [];
  for (const name of CLOUD_INIT_FILES) {
    const f = path.join(dir, name);
    const fs = await stat(f).catch(() => undefined);
    if (!fs) continue;
    if (!fs.isFile()) throw new BootcError("INVALID_ARGUMENT", `${f} is not a regular file`, hint);
    if (fs.size > CLOUD_INIT_MAX_BYTES) throw new BootcError("INVALID_ARGUMENT", `${f} is larger than 1 MiB`, "keep the seed small; fetch big payloads from the guest instead");
    present.push(name);
  }
  if (!present.includes("user-data")) throw new BootcError("INVALID_ARGUMENT", `cloud-init directory ${dir} has no user-data file`, hint);
  return present;
}

/** Copies a checked NoCloud directory into `dest` (made here; replaced whole if it exists). */
export async function copyCloudInitDir(dir: string, dest: string): Promise<void> {
  const present = await checkCloudInitDir(dir);
  const tmp = `${dest}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  for (const name of present) await copyFile(path.join(dir, name), path.join(tmp, name));
  // cloud-init's NoCloud source needs a meta-data file, even an empty one.
  if (!present.includes("meta-data")) await writeFile(path.join(tmp, "meta-data"), "", { mode: 0o600 });
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
}

/** --inj-ssh-identity: the user's own key, as ssh itself would pick it. */
export async function defaultUserIdentity(home = os.homedir()): Promise<string> {
  for (const name of ["id_ed25519", "id_rsa"]) {
    const file = path.join(home, ".ssh", name);
    const handle = await open(file, "r").catch(() => undefined);
    if (handle) {
      await handle.close();
      return file;
    }
  }
  throw new BootcError("INVALID_ARGUMENT", `no SSH key to inject: neither ${path.join(home, ".ssh/id_ed25519")} nor id_rsa exists`, "make one with ssh-keygen -t ed25519, or give another with --ssh-identity FILE");
}
