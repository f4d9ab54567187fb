/** The last bytes of a log file, for showing a log that may be large. */
import { open } from "node:fs/promises";

/** The last `maxBytes` of `file` ("" if it does not exist), and whether anything was cut. */
export async function readTail(file: string, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const fh = await open(file, "r").catch(() => undefined);
  if (!fh) return { text: "", truncated: false };
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return { text: buf.toString("utf8"), truncated: start > 0 };
  } finally {
    await fh.close();
  }
}
