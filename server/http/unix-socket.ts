/**
 * `bootc serve --socket PATH`: the API on a unix socket whose permissions are its access
 * control. The socket is made mode 0600 (the umask is narrowed around listen(), so it is
 * never reachable by others, not even for an instant) and checked after: owned by this
 * user, a socket, mode 0600. A socket left by a crashed server is replaced; a live one, or
 * anything that is not a socket, is refused.
 */
import { lstat, unlink } from "node:fs/promises";
import type http from "node:http";
import net from "node:net";
import { BootcError } from "../../engine/core/errors.js";

const answers = (path: string) =>
  new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once("connect", () => (c.destroy(), resolve(true)));
    c.once("error", () => resolve(false));
  });

export async function listenPrivateSocket(server: http.Server, path: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket())
      throw new BootcError("INVALID_ARGUMENT", `--socket ${path} exists and is not a socket`, "give a path where nothing is, e.g. $XDG_RUNTIME_DIR/bootc.sock");
    if (await answers(path)) throw new BootcError("INVALID_ARGUMENT", `another server already listens on ${path}`, "stop it, or give another --socket path");
    await unlink(path);
  }
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => resolve());
    });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "its directory does not exist" : (e as Error).message;
    throw new BootcError("INVALID_ARGUMENT", `cannot listen on ${path}: ${why}`, "give a path in a directory of yours, e.g. $XDG_RUNTIME_DIR/bootc.sock");
  } finally {
    process.umask(umask);
  }
  const st = await lstat(path);
  const uid = process.getuid?.();
  if (!st.isSocket() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o777) !== 0o600) {
    server.close();
    throw new BootcError(
      "INVALID_ARGUMENT",
      `the socket ${path} did not come out private (mode ${(st.mode & 0o777).toString(8)})`,
      "give a path on a local filesystem",
    );
  }
}
