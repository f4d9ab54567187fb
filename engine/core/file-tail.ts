/** The last bytes of a log file, for showing a log that may be large, and its last lines for a message. */
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

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

/**
 * The last `n` non-blank lines of console output, without terminal escape sequences (CSI
 * and OSC as ECMA-48 has them, and the two-byte ones) or carriage returns.
 */
export function consoleLines(text: string, n: number): string[] {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()#][0-9A-Za-z]|\x1b[0-9A-Za-z=>]|\r/g, "");
  return clean
    .split("\n")
    .filter((l) => l.trim())
    .slice(-n);
}

/**
 * Copies `file` to `out` from `start`, then what is appended to it while `more()` says the
 * writer goes on (polled every 250 ms), and what was written last. Returns the end offset.
 */
export async function followFile(
  file: string,
  out: NodeJS.WritableStream,
  opts: { start?: number; more: () => Promise<boolean>; signal?: AbortSignal },
): Promise<number> {
  let offset = await copyFrom(file, out, opts.start ?? 0);
  while (!opts.signal?.aborted && (await opts.more())) {
    await sleep(250);
    offset = await copyFrom(file, out, offset);
  }
  return copyFrom(file, out, offset);
}

async function copyFrom(file: string, out: NodeJS.WritableStream, start: number): Promise<number> {
  const size = (await stat(file).catch(() => ({ size: 0 }))).size;
  if (size <= start) return start;
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { start, end: size - 1 })
      .on("error", reject)
      .on("end", resolve)
      .pipe(out, { end: false });
  });
  return size;
}
