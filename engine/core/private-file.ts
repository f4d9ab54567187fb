/**
 * Writing a file only its owner may read (mode 0600), whole or not at all: into a temp file
 * beside it, then renamed over it, so a reader never sees half of it.
 *
 * The file may go in a directory others can write to (`serve --token-file /tmp/t`). There a
 * predictable temp name could be taken first: a file of theirs that we would fill and rename
 * into place (theirs, mode 0666, holding the token), or a symlink that would make root write
 * wherever it points. So the temp name is random, it is created here or not at all (O_EXCL,
 * O_NOFOLLOW), and what was written is checked to be ours and private before it is renamed.
 */
import { constants } from "node:fs";
import { open, rename, rm } from "node:fs/promises";

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export async function writePrivateFile(file: string, content: string): Promise<void> {
  // node:crypto when writing only: commands that just read records (bootc list) never load it.
  const { randomBytes } = await import("node:crypto");
  const tmp = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  // Not inside the try: a name that was already there is not ours to remove.
  const fh = await open(tmp, CREATE_NEW, 0o600);
  try {
    await fh.writeFile(content);
    // Made here with O_EXCL, so normally ours; not so on an NFS mount that squashes root.
    const st = await fh.stat();
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || st.mode & 0o077) {
      throw new Error(`${tmp} is not a private file of this user (uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)})`);
    }
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
