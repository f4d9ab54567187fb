/**
 * Passwords for the guest's console. The clear text is hashed on the host the moment it
 * arrives (SHA-512 crypt, which every glibc and musl understands) and only the hash is
 * kept — in a mode-0600 file of the VM, never in its record — and handed to the guest.
 */
import { encrypt } from "unixcrypt";
import { BootcError } from "../core/errors.js";

// A crypt(3) hash as /etc/shadow holds it: $id$[rounds=N$]salt$hash, or the older DES form.
const CRYPT_RE = /^(\$[0-9a-z]+\$[./0-9A-Za-z$=,]+|[./0-9A-Za-z]{13})$/;

export function hashPassword(clear: string): string {
  // eslint-disable-next-line no-control-regex -- a newline would end the line it goes into
  if (!clear || /[\u0000-\u001f\u007f]/.test(clear)) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      clear ? "the password contains a control character (a newline?)" : "the password is empty",
      "use a password of printable characters on one line",
    );
  }
  if (clear.length > 1024) throw new BootcError("INVALID_ARGUMENT", "the password is longer than 1024 characters", "use a shorter password");
  return encrypt(clear);
}

export function isCryptHash(text: string): boolean {
  return CRYPT_RE.test(text);
}
