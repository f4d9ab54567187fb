/**
 * The web UI: Next.js's request and upgrade handlers, for server.ts to call once a request
 * has passed the gate. Loaded only by `bootc serve` with the UI, so the CLI's other commands
 * never load Next or React.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface NextApp {
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>;
}

type CreateNext = typeof import("next/dist/server/next.js").default;

export async function loadNext(opts: { dev: boolean; port: number }): Promise<NextApp> {
  const mod = (await import("next")) as unknown as { default: CreateNext | { default: CreateNext } };
  // next is CommonJS: depending on the loader, its factory is `default` or `default.default`.
  const next = typeof mod.default === "function" ? mod.default : mod.default.default;
  const app = next({ dev: opts.dev, dir: ROOT, hostname: "127.0.0.1", port: opts.port, quiet: true });
  await withoutStdoutLogs(() => app.prepare());
  return { handle: app.getRequestHandler() as NextApp["handle"], upgrade: app.getUpgradeHandler() as NextApp["upgrade"] };
}

/**
 * Runs `fn` with console.log and console.info muted. Next announces itself while it
 * prepares ("✓ Running next.config.js took …", "▲ Next.js …") even when told to be quiet;
 * `bootc serve`'s output is its own. Warnings and errors still reach stderr.
 */
async function withoutStdoutLogs<T>(fn: () => Promise<T>): Promise<T> {
  const { log, info } = console;
  console.log = console.info = () => undefined;
  try {
    return await fn();
  } finally {
    console.log = log;
    console.info = info;
  }
}
