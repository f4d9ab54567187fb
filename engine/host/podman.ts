/**
 * The one place that runs podman. Always an argument array (never a shell string);
 * failures become typed errors that quote podman's own message. A call may name another
 * podman (a connection, engine/core/podman-connection.ts): its global flags are made here
 * and nowhere else.
 */
import path from "node:path";
import { execa, type Options } from "execa";
import { BootcError } from "../core/errors.js";
import { CONNECTION_NAME_RE, describePodman, isRemotePodman, PODMAN_URL_RE, type PodmanConnection } from "../core/podman-connection.js";
import { findOnPath, INSTALL_HINT } from "./tools.js";

export function podmanPath(env: NodeJS.ProcessEnv = process.env): string {
  const found = findOnPath("podman", env);
  if (!found) throw new BootcError("MISSING_TOOL", "podman was not found on PATH", INSTALL_HINT.podman);
  return found;
}

/** The environment variables by which podman picks a remote itself; an explicit connection leaves none of them. */
const CONNECTION_ENV = ["CONTAINER_HOST", "CONTAINER_SSHKEY", "CONTAINER_CONNECTION", "CONTAINER_PASSPHRASE"];

/**
 * podman's global flags for a connection, checked: at most one way to name it, a name that
 * cannot be read as a flag, a URL of podman's schemes, an absolute key path.
 */
export function podmanConnectionArgs(c: PodmanConnection | undefined): string[] {
  if (!isRemotePodman(c)) return [];
  const ways = ["connection", "remote", "url"].filter((k) => k in c).length;
  if (ways > 1) throw new BootcError("INVALID_ARGUMENT", "name one podman: a connection name, the default connection (-r), or a URL", "give only one of them");
  if ("connection" in c) {
    if (!CONNECTION_NAME_RE.test(c.connection))
      throw new BootcError("INVALID_ARGUMENT", `"${c.connection}" is not a podman connection name`, "podman system connection list shows the names");
    return ["--connection", c.connection];
  }
  if ("remote" in c) return ["--remote"];
  if (!PODMAN_URL_RE.test(c.url))
    throw new BootcError(
      "INVALID_ARGUMENT",
      `"${c.url}" is not a podman URL`,
      "use ssh://USER@HOST[:PORT]/run/user/UID/podman/podman.sock, unix:///PATH or tcp://HOST:PORT (CONTAINER_HOST's forms)",
    );
  if (c.identity === undefined) return ["--url", c.url];
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (!path.isAbsolute(c.identity) || /[\u0000-\u001f\u007f]/.test(c.identity))
    throw new BootcError("INVALID_ARGUMENT", `the SSH key "${c.identity}" is not an absolute path`, "give the key's absolute path (CONTAINER_SSHKEY)");
  return ["--url", c.url, "--identity", c.identity];
}

/** The environment for the local podman whatever this process was given: podman reads CONTAINER_HOST as "be remote". */
export function localPodmanEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of CONNECTION_ENV) delete out[k];
  return out;
}

/** Options that make a podman call on `c`: its flags go first, and podman's own connection variables are dropped. */
function onConnection(args: string[], options: Options, c: PodmanConnection | undefined): { args: string[]; options: Options } {
  if (!isRemotePodman(c)) return { args, options };
  const env: NodeJS.ProcessEnv = { ...((options.env as NodeJS.ProcessEnv | undefined) ?? process.env) };
  for (const k of CONNECTION_ENV) delete env[k];
  return { args: [...podmanConnectionArgs(c), ...args], options: { ...options, env, extendEnv: false } };
}

/** The command line of a podman call on `c` (for a process the caller runs itself, e.g. a stream). */
export function podmanCommand(args: string[], c?: PodmanConnection, options: Options = {}): { file: string; args: string[]; options: Options } {
  const on = onConnection(args, options, c);
  return { file: podmanPath((on.options.env as NodeJS.ProcessEnv | undefined) ?? process.env), ...on };
}

/**
 * What went wrong reaching another podman, in one sentence, from podman's own words; or
 * undefined when podman was reached (its error is about the command).
 */
export function remotePodmanError(stderr: string, c: PodmanConnection): BootcError | undefined {
  const who = describePodman(c);
  if (/service destination not found|no such connection|connection .* not found/i.test(stderr))
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `there is no podman connection named "${"connection" in c ? c.connection : ""}"`,
      "podman system connection list shows the names",
    );
  const key = /failed to (?:read|parse) identity "([^"]*)": (?:open [^:]*: )?(.*)/i.exec(stderr);
  if (key)
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `the SSH key ${key[1]} for ${who} cannot be read (${key[2]!.trim()})`,
      "give the path of a private key that exists and is readable where bootc runs (CONTAINER_SSHKEY, or the connection's identity)",
    );
  if (/connection refused/i.test(stderr))
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `${who} refused the connection (nothing listens there)`,
      "is its SSH server (or the podman machine) running, and the host and port right?",
    );
  if (/unable to authenticate|handshake failed|permission denied \(publickey/i.test(stderr))
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `${who} refused the SSH key`,
      "give the key its authorized_keys accepts (CONTAINER_SSHKEY, or the connection's identity)",
    );
  if (/rejected: connect failed|dial unix .*no such file or directory|podman\.sock.*no such file/i.test(stderr))
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `${who} has no podman socket there (the podman service is not running)`,
      "start it on that host: systemctl --user enable --now podman.socket, or podman system service; for a machine: podman machine start",
    );
  if (/cannot connect to podman|unable to connect to podman|failed to connect/i.test(stderr))
    return new BootcError(
      "PODMAN_UNREACHABLE",
      `could not reach ${who}: ${lastLine(stderr)}`,
      "podman system connection list, and podman --remote info, show how podman reaches it",
    );
  return undefined;
}

const lastLine = (s: string) =>
  s
    .trim()
    .split("\n")
    .filter((l) => !/level=warning/.test(l))
    .pop()
    ?.replace(/^Error: /, "") ?? s.trim();

export async function podman(args: string[], options: Options = {}, c?: PodmanConnection): Promise<string> {
  const cmd = podmanCommand(args, c, options);
  const r = await execa(cmd.file, cmd.args, { reject: false, ...cmd.options, encoding: "utf8" });
  if (r.exitCode !== 0 || r.failed) {
    const stderr = String(r.stderr ?? "").trim();
    if (isRemotePodman(c)) {
      const unreachable = remotePodmanError(stderr, c);
      if (unreachable) throw unreachable;
      throw new BootcError(
        "PODMAN_FAILED",
        `podman ${args[0]} on ${describePodman(c)} failed: ${lastLine(stderr) || r.shortMessage}`,
        "run `podman --remote info` to check it",
      );
    }
    throw new BootcError("PODMAN_FAILED", `podman ${args[0]} failed: ${stderr || r.shortMessage}`, "run `bootc doctor` to check the podman setup");
  }
  return String(r.stdout ?? "");
}

export async function podmanJson<T>(args: string[], options: Options = {}, c?: PodmanConnection): Promise<T> {
  return JSON.parse(await podman(args, options, c)) as T;
}
