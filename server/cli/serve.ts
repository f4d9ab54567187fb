import { existsSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../../engine/errors.js";
import { findOnPath } from "../../engine/host/tools.js";
import { parseCommand } from "./output.js";

const HELP = `Usage: bootc serve [--port N] [--host ADDR] [--allow-host NAME]... [--no-open] [--api-only]

Starts the web console: one HTTP server on 127.0.0.1 serving the UI, the API (tRPC at
/api/trpc) and the terminal websockets. Prints a URL with a fresh token; opening it signs
the browser in (the token becomes an HttpOnly cookie and leaves the URL). Scripts send
"Authorization: Bearer <token>". Stopping the server leaves VMs running; a new server
finds them again.

From another machine, tunnel the port: ssh -L 8080:127.0.0.1:PORT host, then open
http://localhost:8080/?token=… there.

Options:
  --port N             port (default: a free one)
  --host ADDR          address to bind (default 127.0.0.1). Anything but loopback also
                       needs --allow-remote: it exposes root shells to your network.
  --allow-remote       confirm binding a non-loopback address
  --allow-host NAME    also accept requests for Host NAME (e.g. a reverse proxy's name)
  --no-open            do not try to open a browser
  --api-only           serve the API and terminals without the web UI
  --dev                Next.js development mode (hot reload), for working on the UI`;

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
        "no-open": { type: "boolean" },
        open: { type: "boolean" },
        "api-only": { type: "boolean" },
        dev: { type: "boolean" },
      },
    },
    HELP,
  );
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BootcError("INVALID_ARGUMENT", `--port "${values.port}" is not a port number`);
  const host = values.host ?? "127.0.0.1";
  if (!LOOPBACK.has(host)) {
    if (!values["allow-remote"]) {
      throw new BootcError("INVALID_ARGUMENT", `--host ${host} would expose bootc-console (and root shells in your VMs) beyond this machine`, "prefer an SSH tunnel (see --help); to bind anyway add --allow-remote");
    }
    console.error(`warning: listening on ${host}: anyone who can reach it and has the token controls your VMs`);
  }
  const ui = !values["api-only"];
  const { ROOT, startServer } = await import("../http/server.js");
  if (ui && !values.dev && !existsSync(path.join(ROOT, ".next", "BUILD_ID"))) {
    throw new BootcError("INVALID_ARGUMENT", "the web UI is not built", `run \`npm run build\` in ${ROOT} (or use --api-only)`);
  }
  const server = await startServer({ port, host, allowHosts: values["allow-host"] ?? [], ui, dev: !!values.dev });
  console.log(`bootc-console is listening on port ${server.port}`);
  console.log(`Open: ${server.url}`);
  console.log("Stop with Ctrl+C (VMs keep running).");
  if (!values["no-open"]) void openBrowser(server.url);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}

/** Best effort: only where a desktop session exists. */
async function openBrowser(url: string): Promise<void> {
  const opener = process.platform === "darwin" ? "open" : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? findOnPath("xdg-open") : undefined;
  if (!opener) return;
  await execa(opener, [url], { reject: false, stdio: "ignore", detached: true });
}
