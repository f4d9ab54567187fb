import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { writePrivateFile } from "../../engine/core/private-file.js";
import path from "node:path";
import { execa } from "execa";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import { findOnPath } from "../../engine/host/tools.js";
import { enginePaths, serverFile, serverOpenPage, serversDir } from "../../engine/core/paths.js";
import { ensurePrivateDir } from "../../engine/core/private-dir.js";
import { processStartId, signalIfSame } from "../../engine/core/proc.js";
import { parseCommand } from "./output.js";
import type { Deadlines } from "../http/limits.js";

const HELP = `Usage: bootc serve [--port N] [--host ADDR] [--allow-host NAME]... [--no-open] [--api-only]
                   [--socket PATH] [--token-file PATH]
       bootc serve --rotate

Starts the web console: one HTTP server on 127.0.0.1 serving the UI, the API (tRPC at
/api/trpc) and the terminal websockets. Prints a fresh token and a sign-in link, e.g.
http://bootc-1a2b3c4d.localhost:PORT/signin#code=…: the console has a host name of its own
(browsers resolve *.localhost to this machine), so its session cookie never reaches another
server on 127.0.0.1 or localhost. The link carries a one-time code, never the token
(browsers keep visited URLs): it signs one browser in; elsewhere, paste the token on the
sign-in page. Scripts send "Authorization: Bearer <token>" to http://127.0.0.1:PORT.
Stopping the server leaves VMs running; a new server finds them.

From another machine, tunnel the port: ssh -L 8080:127.0.0.1:PORT host, then open
http://localhost:8080/signin#code=… there (it moves on to the console's own name).

Options:
  --port N             port (default: a free one)
  --host ADDR          address to bind (default 127.0.0.1). Anything but loopback also
                       needs --allow-remote: it exposes root shells to your network.
  --allow-remote       confirm binding a non-loopback address
  --allow-host NAME    also accept requests for Host NAME (e.g. a reverse proxy's name)
  --console-host NAME  the host name browsers sign in on (default bootc-<random>.localhost);
                       127.0.0.1 only for a browser that cannot resolve *.localhost, and
                       then the session cookie reaches every local server
  --no-open            do not try to open a browser
  --api-only           serve the API and terminals without the web UI
  --socket PATH        also serve the API and terminals on a unix socket (mode 0600):
                       its permissions are the access control, no token needed — for
                       local tools (docs/api.md)
  --token-file PATH    write the token to PATH (mode 0600; rewritten on --rotate,
                       removed when the server stops) for scripts to read
  --connect HOST|URI   where the boot dialog puts new VMs by default: a saved libvirt
                       host (bootc hosts) or a URI (default: BOOTC_CONNECT, else bootc's
                       own runtime on this machine)
  --dev                Next.js development mode (hot reload), for working on the UI
  --rotate             tell this user's running servers to end every browser session and
                       make a new token (each prints its new sign-in URL); so does SIGHUP`;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand(
    {
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "allow-remote": { type: "boolean" },
        "allow-host": { type: "string", multiple: true },
        "console-host": { type: "string" },
        "no-open": { type: "boolean" },
        open: { type: "boolean" },
        "api-only": { type: "boolean" },
        dev: { type: "boolean" },
        rotate: { type: "boolean" },
        socket: { type: "string" },
        "token-file": { type: "string" },
        connect: { type: "string" },
      },
    },
    HELP,
  );
  if (values.rotate) return rotateRunning();
  if (values.connect !== undefined) {
    // Checked now (a typo fails here, not at the first boot); the API reads it as the default.
    const { resolveHost } = await import("../../engine/runtime/libvirt/hosts.js");
    const { enginePaths } = await import("../../engine/core/paths.js");
    if (values.connect) await resolveHost(enginePaths(), values.connect);
    process.env.BOOTC_CONNECT = values.connect;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new BootcError("INVALID_ARGUMENT", `--port "${values.port}" is out of range`, "use a port number from 1 to 65535, or 0 for a free one");
  const host = values.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host)) {
    if (!values["allow-remote"]) {
      throw new BootcError(
        "INVALID_ARGUMENT",
        `--host ${host} would expose bootc-console (and root shells in your VMs) beyond this machine`,
        "prefer an SSH tunnel (see --help); to bind anyway add --allow-remote",
      );
    }
    console.error(`warning: listening on ${host}: anyone who can reach it and has the token controls your VMs`);
  }
  const consoleHost = values["console-host"];
  if (consoleHost !== undefined && !/^[a-z0-9.-]{1,253}$/i.test(consoleHost)) {
    throw new BootcError("INVALID_ARGUMENT", `--console-host "${consoleHost}" is not a host name`, "use a name such as mybox.localhost");
  }
  const deadlines = deadlinesFromEnv(process.env.BOOTC_SERVE_DEADLINE_MS);
  const ui = !values["api-only"];
  const { ROOT, startServer } = await import("../http/server.js");
  if (ui && !values.dev && !existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    // A clone builds it; an installed package carries it, so one without it is damaged.
    const hint = existsSync(path.join(ROOT, "app")) ? `run \`npm run build\` in ${ROOT}` : `reinstall bootc-console (npm install -g bootc-console)`;
    throw new BootcError("INVALID_ARGUMENT", "the web UI is not built", `${hint} (or use --api-only)`);
  }
  const socket = values.socket === undefined ? undefined : path.resolve(values.socket);
  const tokenFile = values["token-file"] === undefined ? undefined : path.resolve(values["token-file"]);
  // A runtime directory that is not private, and a token file that cannot be written, stop
  // us before anything listens.
  await prepareServersDir();
  const token = randomBytes(32).toString("base64url");
  if (tokenFile) await writeTokenFile(tokenFile, token);
  const server = await startServer({
    port,
    host,
    token,
    allowHosts: values["allow-host"] ?? [],
    ui,
    dev: !!values.dev,
    ...(consoleHost ? { consoleHost } : {}),
    ...(socket ? { socket } : {}),
    ...(deadlines ? { deadlines } : {}),
  }).catch(async (e: unknown) => {
    if (tokenFile) await rm(tokenFile, { force: true });
    throw e;
  });
  // A server that cannot leave its note is stopped, not left listening after the error.
  await register(server.port).catch(async (e: unknown) => {
    await server.close();
    if (tokenFile) await rm(tokenFile, { force: true });
    throw e;
  });
  console.log(`bootc-console is listening on port ${server.port}`);
  printSignin(server.url, server.token, server.apiOrigin);
  if (socket) console.log(`API: also on the unix socket ${socket} (mode 0600, no token): http://localhost/api/trpc through it`);
  if (tokenFile) console.log(`Token file: ${tokenFile} (mode 0600)`);
  console.log("Stop with Ctrl+C (VMs keep running).");
  if (!values["no-open"]) void openBrowser(server.port, server.url);
  process.on("SIGHUP", () => {
    const url = server.rotate();
    if (tokenFile) void writeTokenFile(tokenFile, server.token);
    console.log("Every browser session was ended and the token replaced.");
    printSignin(url, server.token, server.apiOrigin);
  });
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await rm(serverFile(server.port), { force: true });
  await rm(serverOpenPage(server.port), { force: true });
  // A stopped server's token opens nothing: the file goes with it.
  if (tokenFile) await rm(tokenFile, { force: true });
  return 0;
}

/** BOOTC_SERVE_DEADLINE_MS: one deadline for request headers and whole requests, for tests that must see it pass. */
function deadlinesFromEnv(value: string | undefined): Deadlines | undefined {
  if (value === undefined) return undefined;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 100 || ms > 600_000) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `BOOTC_SERVE_DEADLINE_MS "${value}" is not a number of milliseconds from 100 to 600000`,
      "unset it: the defaults are 10 s for request headers and 30 s for a whole request",
    );
  }
  return { headersMs: ms, requestMs: ms };
}

/** The token, for scripts, through a temp file and a rename: never half a token, never readable by others. */
async function writeTokenFile(file: string, token: string): Promise<void> {
  try {
    await writePrivateFile(file, `${token}\n`);
  } catch (e) {
    throw new BootcError("INVALID_ARGUMENT", `cannot write the token file ${file}: ${(e as Error).message}`, "give a path in a directory of yours");
  }
}

function printSignin(url: string, token: string, apiOrigin: string): void {
  console.log(`Open: ${url}`);
  console.log("      (the link signs one browser in; for another, paste the token on its sign-in page)");
  console.log(`Token: ${token}`);
  console.log(`API: ${apiOrigin}/api/trpc with the header "Authorization: Bearer <token>"`);
}

/** The runtime directory (checked private) and the servers' notes in it; an error says which directory and what to do. */
async function prepareServersDir(): Promise<void> {
  try {
    await ensurePrivateDir(serversDir(), enginePaths());
  } catch (e) {
    if (isBootcError(e)) throw e;
    throw new BootcError(
      "INVALID_ARGUMENT",
      `cannot make the runtime directory ${enginePaths().runtime}: ${(e as Error).message}`,
      "set XDG_RUNTIME_DIR to a private directory of yours, then try again",
    );
  }
}

/** Leaves a note (pid + start identity) so `serve --rotate` can find this server and prove it is still this one. */
async function register(port: number): Promise<void> {
  await prepareServersDir();
  await writePrivateFile(serverFile(port), JSON.stringify({ pid: process.pid, startId: processStartId(process.pid), port }));
}

async function rotateRunning(): Promise<number> {
  const files = (await readdir(serversDir()).catch(() => [] as string[])).filter((f) => /^\d+\.json$/.test(f));
  let told = 0;
  for (const f of files) {
    const note = JSON.parse(await readFile(path.join(serversDir(), f), "utf8").catch(() => "{}")) as { pid?: number; startId?: string; port?: number };
    if (signalIfSame(note.pid, note.startId, "SIGHUP")) {
      console.log(`the server on port ${note.port} ended every browser session and has a new token: its output shows the new sign-in URL`);
      told++;
    } else {
      await rm(path.join(serversDir(), f), { force: true }); // a server that is gone
    }
  }
  if (!told) console.log("no bootc serve is running for this user");
  return 0;
}

/**
 * Best effort, only where a desktop session exists. The opener gets the path of a private
 * page (mode 0600) that forwards to the sign-in URL: a token on a command line could be
 * read by any local user in /proc.
 */
async function openBrowser(port: number, url: string): Promise<void> {
  const opener = process.platform === "darwin" ? "open" : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? findOnPath("xdg-open") : undefined;
  if (!opener) return;
  const page = serverOpenPage(port);
  const html = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${url.replaceAll("&", "&amp;").replaceAll('"', "&quot;")}"><title>bootc console</title>`;
  await writeFile(page, html, { mode: 0o600 });
  await execa(opener, [page], { reject: false, stdio: "ignore", detached: true });
  // The browser has read it by then; the page must not outlive its use.
  setTimeout(() => void rm(page, { force: true }), 60_000).unref();
}
