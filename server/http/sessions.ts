/**
 * One-time sign-in codes: what the printed sign-in link carries instead of the token.
 * Browsers keep every URL they visit in their history database, fragment included, so a
 * link must not hold anything that still works once used: a code signs in once.
 */
export class SigninCodes {
  private readonly codes = new Set<string>();

  create(): string {
    const code = randomBytes(24).toString("base64url");
    this.codes.add(hash(code));
    return code;
  }

  /** True once per code; false for an unknown or used one. */
  use(code: string | undefined): boolean {
    return !!code && this.codes.delete(hash(code));
  }

  clear(): void {
    this.codes.clear();
  }
}

/**
 * Browser sessions, kept apart from the token. Signing in trades the token for a random
 * session id, which is all the cookie carries: the token itself never sits in a cookie.
 * Sessions live in this server's memory, so a restart ends them all; `revokeAll` (the
 * API's session.revokeAll, `bootc serve --rotate`, SIGHUP) ends them at once too.
 * Ids are stored hashed, so a lookup's timing says nothing about a stored id.
 */
import { createHash, randomBytes } from "node:crypto";

const hash = (id: string) => createHash("sha256").update(id).digest("base64url");

export class Sessions {
  private readonly ids = new Set<string>();

  create(): string {
    const id = randomBytes(32).toString("base64url");
    this.ids.add(hash(id));
    return id;
  }

  has(id: string | undefined): boolean {
    return !!id && this.ids.has(hash(id));
  }

  revoke(id: string | undefined): void {
    if (id) this.ids.delete(hash(id));
  }

  revokeAll(): number {
    const n = this.ids.size;
    this.ids.clear();
    return n;
  }
}
