/**
 * Pinning the guest's host key. The first successful connection after a boot (made by
 * the monitor's readiness probe, seconds after sshd starts) records the key in the VM's
 * known_hosts under the alias "bootc-<name>"; every later connection — ssh2 in the engine
 * and OpenSSH for `bootc ssh` — accepts that key and no other.
 */
import { readFile } from "node:fs/promises";
import { writePrivateFile } from "../core/private-file.js";

export const hostAlias = (vmName: string) => `bootc-${vmName}`;

/** The key type is the first length-prefixed string of the SSH wire-format key blob. */
export function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("ascii");
}

export function knownHostsLine(vmName: string, blob: Buffer): string {
  return `${hostAlias(vmName)} ${keyType(blob)} ${blob.toString("base64")}\n`;
}

export async function pinHostKey(file: string, vmName: string, blob: Buffer): Promise<void> {
  await writePrivateFile(file, knownHostsLine(vmName, blob));
}

/** The pinned key blob, or undefined if none is pinned yet. */
export async function pinnedHostKey(file: string): Promise<Buffer | undefined> {
  const text = await readFile(file, "utf8").catch(() => "");
  const b64 = text.trim().split(/\s+/)[2];
  return b64 ? Buffer.from(b64, "base64") : undefined;
}
