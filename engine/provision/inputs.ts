/**
 * The user's own first-boot files, read and checked when a VM is created — before
 * anything else is made — and copied into the VM's directory, so that what boots later
 * is what was checked, whatever happens to the originals.
 */
import { constants } from "node:fs";
import { copyFile, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BootcError } from "../core/errors.js";
import { KICKSTART_MAX_BYTES, translateKickstart } from "./kickstart.js";

export const CLOUD_INIT_FILES = ["meta-data", "user-data", "vendor-data", "network-config"] as const;
const CLOUD_INIT_MAX_BYTES = 1024 * 1024;

/**
 * Reads and translates a kickstart (so a bad one fails `run`), and returns its text.
 * Only an ordinary text file is read: not a device or FIFO (opening one can block or do
 * something), nor a /proc or /sys file (stat calls them regular, with size 0, whatever they
 * hold), nor a binary file. Errors never quote what it holds (kickstart.ts).
 */
export async function readKickstart(file: string): Promise<string> {
  const hint = "give the path of a kickstart file, e.g. --ks ./dev.ks";
  const refuse = (why: string) => new BootcError("INVALID_ARGUMENT", `kickstart ${file} ${why}`, hint);
  const s = await stat(file).catch(() => undefined);
  if (!s) throw refuse("does not exist");
  if (!s.isFile()) throw refuse("is not a regular file");
  if (s.size > KICKSTART_MAX_BYTES)
    throw new BootcError(
      "INVALID_ARGUMENT",
      `kickstart ${file} is larger than ${KICKSTART_MAX_BYTES / 1024} KiB`,
      "a kickstart for bootc-console holds users, settings and %post scripts only",
    );
  const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  let buf: Buffer;
  try {
    const st = await fh.stat();
    if (!st.isFile() || st.ino !== s.ino || st.dev !== s.dev) throw refuse("changed while it was opened");
    buf = Buffer.alloc(KICKSTART_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    buf = buf.subarray(0, bytesRead);
    if (bytesRead !== st.size) throw refuse("is not an ordinary file (it reads other than its size says: a /proc or /sys file?)");
  } finally {
    await fh.close();
  }
  if (buf.includes(0)) throw refuse("is not a text file");
  const text = buf.toString("utf8");
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
    if (fs.size > CLOUD_INIT_MAX_BYTES)
      throw new BootcError("INVALID_ARGUMENT", `${f} is larger than 1 MiB`, "keep the seed small; fetch big payloads from the guest instead");
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
  throw new BootcError(
    "INVALID_ARGUMENT",
    `no SSH key to inject: neither ${path.join(home, ".ssh/id_ed25519")} nor id_rsa exists`,
    "make one with ssh-keygen -t ed25519, or give another with --ssh-identity FILE",
  );
}
