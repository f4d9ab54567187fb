/**
 * systemd credentials handed to the guest through SMBIOS / fw_cfg. tmpfiles.extra works
 * from systemd 252 and writes the authorized key; fstab.extra (systemd ≥ 254) mounts the
 * host directory shares. Older guests get a warning that says how to mount by hand.
 */
import type { Credential } from "./qemu/cmdline.js";
import { fstabField, USER_RE } from "./schema.js";

export interface GuestShare {
  tag: string;
  guestPath: string;
  readOnly: boolean;
}

export const FSTAB_EXTRA_MIN_SYSTEMD = 254;

function homeOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

/** tmpfiles.d lines that install `publicKey` as the user's only authorized key. */
export function authorizedKeyTmpfiles(user: string, publicKey: string): string {
  // The user is spliced into tmpfiles lines: the engine's rule is re-checked where it is used.
  if (!USER_RE.test(user)) throw new Error(`not a user name: ${JSON.stringify(user)}`);
  const home = homeOf(user);
  const b64 = Buffer.from(publicKey.trim() + "\n").toString("base64");
  return [`d ${home}/.ssh 0700 ${user} ${user} -`, `f+~ ${home}/.ssh/authorized_keys 0600 ${user} ${user} - ${b64}`, ""].join("\n");
}

export function fstabForShares(shares: GuestShare[]): string {
  return shares.map((s) => `${fstabField(s.tag)} ${fstabField(s.guestPath)} virtiofs ${s.readOnly ? "ro" : "rw"},nofail 0 0\n`).join("");
}

export interface GuestCredentials {
  credentials: Credential[];
  warnings: string[];
}

export function guestCredentials(opts: { user: string; publicKey?: string; shares: GuestShare[]; systemd?: number }): GuestCredentials {
  const credentials: Credential[] = [];
  const warnings: string[] = [];
  if (opts.publicKey) credentials.push({ name: "tmpfiles.extra", value: authorizedKeyTmpfiles(opts.user, opts.publicKey) });
  if (opts.shares.length) {
    if ((opts.systemd ?? 0) >= FSTAB_EXTRA_MIN_SYSTEMD) {
      credentials.push({ name: "fstab.extra", value: fstabForShares(opts.shares) });
    } else {
      const how = opts.shares.map((s) => `mount -t virtiofs ${s.readOnly ? "-o ro " : ""}${s.tag} '${s.guestPath.replaceAll("'", "'\\''")}'`).join("; ");
      warnings.push(
        `the guest's systemd (${opts.systemd ?? "unknown"}) is older than ${FSTAB_EXTRA_MIN_SYSTEMD} and cannot mount shares from credentials: inside the guest run: ${how}`,
      );
    }
  }
  return { credentials, warnings };
}
