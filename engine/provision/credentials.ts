/**
 * What the guest is handed at boot, as systemd credentials: the SSH key (tmpfiles.extra,
 * systemd ≥ 252), host directory shares (fstab.extra, ≥ 254), a user to create
 * (sysusers.extra, ≥ 252), and first-boot work — passwords, a kickstart's users and
 * settings, %post — through firstboot.ts (≥ 256). Where the guest's systemd is too old
 * for a part, shares get a warning that says how to mount by hand, and first-boot work is
 * refused with the version it needs.
 */
import { fstabField, USER_RE } from "../core/schema.js";
import { autologinCredential, credentialFile, FIRSTBOOT_MIN_SYSTEMD, firstBootCredentials, shellQuote, type FirstBootInput } from "./firstboot.js";
import type { Credential } from "./transport.js";

export interface GuestShare {
  tag: string;
  guestPath: string;
  readOnly: boolean;
}

export const FSTAB_EXTRA_MIN_SYSTEMD = 254;

export function homeOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

function checkUser(user: string): string {
  // The user is spliced into tmpfiles, sysusers and unit lines: the engine's rule is re-checked where it is used.
  if (!USER_RE.test(user)) throw new Error(`not a user name: ${JSON.stringify(user)}`);
  return user;
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** tmpfiles.d lines that install `publicKey` as the user's only authorized key. */
export function authorizedKeyTmpfiles(user: string, publicKey: string): string {
  checkUser(user);
  const home = homeOf(user);
  return [`d ${home}/.ssh 0700 ${user} ${user} -`, `f+~ ${home}/.ssh/authorized_keys 0600 ${user} ${user} - ${b64(publicKey.trim() + "\n")}`, ""].join("\n");
}

/**
 * For `-u NAME` when the image has no such user: a sysusers.d line that creates it (a
 * no-op should it exist after all), and tmpfiles lines for its home and a sudoers rule.
 */
export function newUserLines(user: string): { sysusers: string; tmpfiles: string } {
  checkUser(user);
  return {
    sysusers: `u ${user} - "bootc-console user" ${homeOf(user)} /bin/bash\n`,
    tmpfiles: [
      `d ${homeOf(user)} 0700 ${user} ${user} -`,
      `f~ /etc/sudoers.d/bootc-console-${user} 0440 root root - ${b64(`${user} ALL=(ALL) NOPASSWD: ALL\n`)}`,
      "",
    ].join("\n"),
  };
}

/** The guest's view of `--bind` shares: virtiofs tags bind1, bind2… in order, whoever serves them. */
export function shareTags(binds: Array<{ guest: string; readOnly: boolean }>): GuestShare[] {
  return binds.map((b, i) => ({ tag: shareTag(i), guestPath: b.guest, readOnly: b.readOnly }));
}

/** The virtiofs tag of the `i`th (0-based) bind share. */
export const shareTag = (i: number) => `bind${i + 1}`;

export function fstabForShares(shares: GuestShare[]): string {
  return shares.map((s) => `${fstabField(s.tag)} ${fstabField(s.guestPath)} virtiofs ${s.readOnly ? "ro" : "rw"},nofail 0 0\n`).join("");
}

export interface GuestCredentialsInput {
  /** The user SSH logs in as, whose key, password and autologin these are. */
  user: string;
  publicKey?: string;
  shares: GuestShare[];
  /** The guest's systemd version, when known. */
  systemd?: number;
  /** Users the image already has; undefined when unknown (a premade disk): `user` is then created if missing. */
  imageUsers?: string[];
  /** A crypt(3) hash to set as `user`'s password. */
  passwordHash?: string;
  /** Log `user` in on this serial console (ttyS0, ttyAMA0) without a password. */
  autologinTty?: string;
  /** More first-boot work (a translated kickstart). */
  firstBoot?: FirstBootInput;
}

export interface GuestCredentials {
  credentials: Credential[];
  warnings: string[];
}

export class ProvisionError extends Error {}

export function guestCredentials(opts: GuestCredentialsInput): GuestCredentials {
  const user = checkUser(opts.user);
  const credentials: Credential[] = [];
  const warnings: string[] = [];
  const tmpfiles: string[] = [];
  if (user !== "root" && !opts.imageUsers?.includes(user)) {
    const lines = newUserLines(user);
    credentials.push({ name: "sysusers.extra", value: lines.sysusers });
    tmpfiles.push(lines.tmpfiles);
  }
  if (opts.publicKey) tmpfiles.push(authorizedKeyTmpfiles(user, opts.publicKey));
  if (tmpfiles.length) credentials.push({ name: "tmpfiles.extra", value: tmpfiles.join("") });
  if (opts.shares.length) {
    if ((opts.systemd ?? 0) >= FSTAB_EXTRA_MIN_SYSTEMD) {
      credentials.push({ name: "fstab.extra", value: fstabForShares(opts.shares) });
    } else {
      const how = opts.shares.map((s) => `mount -t virtiofs ${s.readOnly ? "-o ro " : ""}${s.tag} ${shellQuote(s.guestPath)}`).join("; ");
      warnings.push(
        `the guest's systemd (${opts.systemd ?? "unknown"}) is older than ${FSTAB_EXTRA_MIN_SYSTEMD} and cannot mount shares from credentials: inside the guest run: ${how}`,
      );
    }
  }

  const firstBoot: FirstBootInput = { steps: [...(opts.firstBoot?.steps ?? [])], files: [...(opts.firstBoot?.files ?? [])] };
  if (opts.passwordHash) {
    if (/[:\n]/.test(opts.passwordHash)) throw new ProvisionError("a password hash must not contain ':' or a newline");
    firstBoot.files.push({ name: "passwd", content: `${user}:${opts.passwordHash}\n`, secret: true });
    // First, so that a failing %post cannot leave the console without its password.
    firstBoot.steps.unshift(`chpasswd -e < ${credentialFile("passwd")}`);
  }
  const needs = [opts.passwordHash && "a password", opts.autologinTty && "autologin", opts.firstBoot?.steps.length && "a kickstart"].filter(Boolean);
  if (needs.length && opts.systemd !== undefined && opts.systemd < FIRSTBOOT_MIN_SYSTEMD) {
    throw new ProvisionError(
      `the guest's systemd (${opts.systemd}) is older than ${FIRSTBOOT_MIN_SYSTEMD}, which ${needs.join(" and ")} need${needs.length > 1 ? "" : "s"} (units passed as credentials)`,
    );
  }
  credentials.push(...firstBootCredentials(firstBoot));
  if (opts.autologinTty) credentials.push(autologinCredential(user, opts.autologinTty));
  return { credentials, warnings };
}
