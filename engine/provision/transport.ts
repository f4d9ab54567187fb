/**
 * How systemd credentials reach the guest. systemd's PID 1 imports them from three places
 * before anything else runs, and which ones exist depends on the machine:
 * - smbios: SMBIOS type 11 OEM strings — x86 machines, and any machine booted by UEFI
 *   firmware;
 * - fw_cfg: qemu's firmware config files (opt/io.systemd.credentials/NAME) — any qemu
 *   machine; the only one an arm64 direct-kernel boot has (no firmware, no SMBIOS);
 * - cmdline: `systemd.set_credential_binary=` on the kernel command line — only where the
 *   engine writes the command line (direct kernel boots), and readable by every process in
 *   the guest (/proc/cmdline), so secrets never go this way;
 * - esp: null-key encrypted files on the disk's EFI system partition
 *   (loader/credentials/NAME.cred, esp-credentials.ts), which systemd-stub hands to the
 *   system — only UEFI boots of a unified kernel image; for machines without SMBIOS (vfkit).
 *
 * Values never appear on qemu's command line (which every local user can read with ps):
 * each one is a file in the VM's private directory that qemu reads. The plan is a pure
 * function; the monitor writes the files it lists.
 */
import path from "node:path";
import type { HostArch } from "../host/tools.js";
import { CREDENTIAL_TRANSPORTS, qemuOptionValue as q } from "../core/schema.js";

export type CredentialTransport = (typeof CREDENTIAL_TRANSPORTS)[number];

export interface Credential {
  /** The credential's name as the guest sees it (checked by CREDENTIAL_NAME_RE). */
  name: string;
  value: string;
  /** A secret (a password hash) must not go through the world-readable kernel command line. */
  secret?: boolean;
}

// systemd's own rule for credential names is wider; ours keeps them safe in a file name
// and in a qemu option string without any escaping.
export const CREDENTIAL_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,254}$/;

/** qemu's fw_cfg file names hold 55 characters (FW_CFG_MAX_FILE_PATH, with its NUL). */
export const FW_CFG_NAME_MAX = 55;
const FW_CFG_DIR = "opt/io.systemd.credentials/";

/** x86's COMMAND_LINE_SIZE; arm64's is larger, so this is the safe bound for both. */
export const KERNEL_CMDLINE_MAX = 2048;

/** The transport a boot uses unless one is forced: SMBIOS where the machine has it. */
export function defaultTransport(arch: HostArch, firmware: boolean): CredentialTransport {
  return arch === "x86_64" || firmware ? "smbios" : "fw_cfg";
}

export interface CredentialPlan {
  qemuArgs: string[];
  kernelArgs: string[];
  /** Files to write (mode 0600) before qemu starts. */
  files: Array<{ path: string; content: string }>;
  /** The esp transport: the credentials to put on the disk's EFI system partition before qemu starts (esp-credentials.ts). */
  esp?: Credential[];
}

export class CredentialTransportError extends Error {}

/** One credential as an SMBIOS type 11 OEM string, the form systemd reads (qemu -smbios or libvirt <sysinfo>). */
export function smbiosCredential(c: Credential): string {
  if (!CREDENTIAL_NAME_RE.test(c.name)) throw new CredentialTransportError(`not a credential name: ${JSON.stringify(c.name)}`);
  return `io.systemd.credential.binary:${c.name}=${Buffer.from(c.value).toString("base64")}`;
}

/**
 * The qemu arguments, kernel arguments and files that hand `credentials` to the guest.
 * `dir` is the VM's private directory for the files; `directKernel` says whether the
 * engine writes the kernel command line (false for UEFI boots of installed disks).
 */
export function credentialPlan(credentials: Credential[], transport: CredentialTransport, dir: string, directKernel: boolean): CredentialPlan {
  const plan: CredentialPlan = { qemuArgs: [], kernelArgs: [], files: [] };
  if (transport === "esp") {
    // A kernel qemu loads itself never runs systemd-stub, which is what reads the ESP.
    if (directKernel) throw new CredentialTransportError("credentials on the EFI system partition reach only a disk that boots through UEFI firmware");
    for (const c of credentials) if (!CREDENTIAL_NAME_RE.test(c.name)) throw new CredentialTransportError(`not a credential name: ${JSON.stringify(c.name)}`);
    return { ...plan, esp: credentials };
  }
  for (const [i, c] of credentials.entries()) {
    if (!CREDENTIAL_NAME_RE.test(c.name)) throw new CredentialTransportError(`not a credential name: ${JSON.stringify(c.name)}`);
    const b64 = Buffer.from(c.value).toString("base64");
    const file = path.join(dir, `credential-${i}`);
    if (transport === "smbios") {
      plan.files.push({ path: file, content: smbiosCredential(c) });
      plan.qemuArgs.push("-smbios", `type=11,path=${q(file)}`);
    } else if (transport === "fw_cfg" && (FW_CFG_DIR + c.name).length <= FW_CFG_NAME_MAX) {
      plan.files.push({ path: file, content: c.value });
      plan.qemuArgs.push("-fw_cfg", `name=${FW_CFG_DIR}${c.name},file=${q(file)}`);
    } else {
      // The kernel command line: asked for, or the fallback for a name fw_cfg cannot hold
      // (systemd's unit credentials, systemd.extra-unit.NAME, are longer than 55 characters).
      const why =
        transport === "fw_cfg" ? `the credential ${c.name} has a name too long for fw_cfg (${FW_CFG_NAME_MAX} characters with its directory), and ` : "";
      if (!directKernel)
        throw new CredentialTransportError(
          `${why}credentials cannot go on the kernel command line of a disk that boots through UEFI firmware (its boot loader writes the command line)`,
        );
      if (c.secret)
        throw new CredentialTransportError(`${why}the credential ${c.name} is a secret and the kernel command line is readable by every process in the guest`);
      plan.kernelArgs.push(`systemd.set_credential_binary=${c.name}:${b64}`);
    }
  }
  const length = plan.kernelArgs.join(" ").length;
  // The rest of the command line (root=, console=, the user's --karg) needs room too.
  if (length > KERNEL_CMDLINE_MAX - 512) {
    throw new CredentialTransportError(`the credentials take ${length} bytes of kernel command line, more than the ${KERNEL_CMDLINE_MAX - 512} it can spare`);
  }
  return plan;
}
