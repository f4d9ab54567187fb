/**
 * The server's browser secrets, kept apart from the token and held in memory only (a
 * restart ends them all):
 *  - sessions: the random id a session cookie carries — the token itself never sits in a
 *    cookie — and the key its page holds (server/protocol/session-key.ts); `clear`
 *    (session.revokeAll, `bootc serve --rotate`, SIGHUP) ends them at once;
 *  - sign-in codes: what the printed sign-in link carries instead of the token. Browsers
 *    keep every visited URL, fragment included, in their history database, so a link must
 *    hold nothing that still works once used: a code is `use`d once.
 * Secrets are stored hashed, so a lookup's timing says nothing about a stored one.
 */
import { createHash, randomBytes } from "node:crypto";

const hash = (secret: string) => createHash("sha256").update(secret).digest("base64url");

export class SecretSet {
  private readonly hashes = new Set<string>();

  constructor(private readonly bytes: number) {}

  create(): string {
    const secret = randomBytes(this.bytes).toString("base64url");
    this.hashes.add(hash(secret));
    return secret;
  }

  has(secret: string | undefined): boolean {
    return !!secret && this.hashes.has(hash(secret));
  }

  /** True once per secret (it is forgotten); false for an unknown or used one. */
  use(secret: string | undefined): boolean {
    return !!secret && this.hashes.delete(hash(secret));
  }

  /** Forgets every secret; returns how many there were. */
  clear(): number {
    const n = this.hashes.size;
    this.hashes.clear();
    return n;
  }
}

/** Browser sessions: an id (the cookie's) and a key (the page's), made together. */
export class Sessions {
  /** hash(id) → hash(key) */
  private readonly keys = new Map<string, string>();

  create(): { id: string; key: string } {
    const id = randomBytes(32).toString("base64url");
    const key = randomBytes(32).toString("base64url");
    this.keys.set(hash(id), hash(key));
    return { id, key };
  }

  has(id: string | undefined): boolean {
    return !!id && this.keys.has(hash(id));
  }

  /** The id and the key were made together, and the session is live. */
  matches(id: string | undefined, key: string | undefined): boolean {
    return !!id && !!key && this.keys.get(hash(id)) === hash(key);
  }

  clear(): number {
    const n = this.keys.size;
    this.keys.clear();
    return n;
  }
}
