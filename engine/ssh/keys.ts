/** Per-VM SSH identity: a fresh ed25519 key made with ssh-keygen, or the user's own. */
import { access, readFile } from "node:fs/promises";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { requireTool } from "../host/tools.js";

export async function generateKey(file: string, comment: string): Promise<void> {
  const keygen = requireTool("ssh-keygen");
  await execa(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
}

/** The public key for an identity file (FILE.pub, or derived with ssh-keygen -y). */
export async function publicKeyOf(identity: string): Promise<string> {
  try {
    await access(identity);
  } catch {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `SSH identity ${identity} does not exist`,
      "give the path of a private key, e.g. --ssh-identity ~/.ssh/id_ed25519",
    );
  }
  const pub = await readFile(`${identity}.pub`, "utf8").catch(() => undefined);
  if (pub) return pub.trim();
  const r = await execa(requireTool("ssh-keygen"), ["-y", "-f", identity], { reject: false });
  if (r.exitCode !== 0) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `cannot read SSH identity ${identity}: ${r.stderr.trim()}`,
      "use an unencrypted private key, or one with a .pub file next to it",
    );
  }
  return r.stdout.trim();
}
