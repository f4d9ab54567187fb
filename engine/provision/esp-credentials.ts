/**
 * Credentials on the EFI system partition, for UEFI boots where the VM manager cannot hand
 * SMBIOS strings or fw_cfg files to the guest (vfkit, Apple's Virtualization framework).
 *
 * systemd-stub (the stub of a unified kernel image) packs every `\loader\credentials\*.cred`
 * on the ESP into an initrd cpio that unpacks to /.extra/global_credentials/ (and a UKI's
 * own `<uki>.efi.extra.d/*.cred` to /.extra/credentials/). PID 1 in the initrd copies them
 * to /run/credentials/@encrypted/: the ESP is untrusted, so these must be *encrypted*
 * credentials, authenticated when a unit imports them — a plain value there is refused.
 * Where the guest has no TPM2 (our VMs) or SecureBoot is off, systemd accepts a credential
 * encrypted with the fixed null key (`systemd-creds encrypt --with-key=null`, spelled
 * `tpm2-absent` in systemd 252): no secrecy, no authenticity, only the format. That is
 * what this module writes, without systemd-creds (the Mac has none): the same bytes, in
 * the same Base64 text, by node:crypto. docs/macos.md says where this does and does not
 * reach (UKI boots only: GRUB does not run systemd-stub).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { CREDENTIAL_NAME_RE, CredentialTransportError, type Credential } from "./transport.js";

/** systemd's CRED_AES256_GCM_BY_TPM2_ABSENT: the key is SHA-256 of nothing. */
const NULL_KEY_ID = Buffer.from("058469daf6f54324800549da0f8ea2fb", "hex");
const NULL_KEY = createHash("sha256").digest();
const IV_SIZE = 12;
const TAG_SIZE = 16;
/** USEC_INFINITY: no expiry. */
const NOT_AFTER_NEVER = 0xffff_ffff_ffff_ffffn;

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export interface NullKeyOptions {
  /** Creation time in µs since the epoch (systemd records it; it does not check it). */
  timestampUsec?: bigint;
  /** Fixed only by tests: a credential's IV is random. */
  iv?: Buffer;
}

/**
 * One credential as `systemd-creds encrypt --with-key=null --name=NAME` writes it: a header
 * (key type, sizes, IV; authenticated, not encrypted), then AES-256-GCM over a metadata
 * header (timestamp, not-after, name) and the value, then the tag; Base64 text.
 */
export function nullKeyCredential(name: string, value: string | Buffer, opts: NullKeyOptions = {}): string {
  if (!CREDENTIAL_NAME_RE.test(name)) throw new CredentialTransportError(`not a credential name: ${JSON.stringify(name)}`);
  const iv = opts.iv ?? randomBytes(IV_SIZE);
  if (iv.length !== IV_SIZE) throw new CredentialTransportError(`a credential's IV has ${IV_SIZE} bytes`);
  const header = Buffer.alloc(align8(16 + 16 + IV_SIZE));
  NULL_KEY_ID.copy(header, 0);
  header.writeUInt32LE(NULL_KEY.length, 16); // key size
  header.writeUInt32LE(1, 20); // block size: GCM is a stream mode
  header.writeUInt32LE(IV_SIZE, 24);
  header.writeUInt32LE(TAG_SIZE, 28);
  iv.copy(header, 32);

  const nameBytes = Buffer.from(name);
  const meta = Buffer.alloc(align8(20 + nameBytes.length));
  meta.writeBigUInt64LE(opts.timestampUsec ?? BigInt(Date.now()) * 1000n, 0);
  meta.writeBigUInt64LE(NOT_AFTER_NEVER, 8);
  meta.writeUInt32LE(nameBytes.length, 16);
  nameBytes.copy(meta, 20);

  const cipher = createCipheriv("aes-256-gcm", NULL_KEY, iv);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(meta), cipher.update(Buffer.from(value)), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]).toString("base64") + "\n";
}

/** Reads back a null-key credential (ours or systemd-creds'): its embedded name and value. Throws if it does not authenticate. */
export function openNullKeyCredential(text: string): { name: string; value: Buffer } {
  const raw = Buffer.from(text.replace(/\s+/g, ""), "base64");
  if (raw.length < 48 + 24 + TAG_SIZE || !raw.subarray(0, 16).equals(NULL_KEY_ID)) throw new CredentialTransportError("not a null-key credential");
  const ivSize = raw.readUInt32LE(24);
  if (raw.readUInt32LE(16) !== 32 || raw.readUInt32LE(28) !== TAG_SIZE || ivSize !== IV_SIZE)
    throw new CredentialTransportError("unexpected sizes in the credential's header");
  const headerSize = align8(32 + ivSize);
  const decipher = createDecipheriv("aes-256-gcm", NULL_KEY, raw.subarray(32, 32 + ivSize));
  decipher.setAAD(raw.subarray(0, headerSize));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_SIZE));
  const plain = Buffer.concat([decipher.update(raw.subarray(headerSize, raw.length - TAG_SIZE)), decipher.final()]);
  const nameSize = plain.readUInt32LE(16);
  return { name: plain.subarray(20, 20 + nameSize).toString(), value: plain.subarray(align8(20 + nameSize)) };
}

/** The ESP's directory that systemd-stub reads for every boot entry (FAT: case does not matter). */
export const ESP_CREDENTIALS_DIR = "loader/credentials";

/**
 * The files to put on the ESP (paths relative to its root) that hand `credentials` to a
 * guest booting a UKI. The file name (less `.cred`) is the credential's name and must
 * match the one sealed inside, which systemd checks.
 */
export function espCredentialFiles(credentials: Credential[], opts: NullKeyOptions = {}): Array<{ path: string; content: string }> {
  return credentials.map((c) => ({ path: `${ESP_CREDENTIALS_DIR}/${c.name}.cred`, content: nullKeyCredential(c.name, c.value, opts) }));
}
