/**
 * Writing a file only its owner may read (mode 0600), whole or not at all: into a temp file
 * beside it, then renamed over it, so a reader never sees half of it.
 */
import { rename, rm, writeFile } from "node:fs/promises";

export async function writePrivateFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
