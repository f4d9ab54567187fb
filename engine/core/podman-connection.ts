/**
 * Which podman has the image: the local one (no connection), or another reached the way
 * podman itself reaches it — a URL (`CONTAINER_HOST`, with `CONTAINER_SSHKEY`), a named
 * connection (`podman system connection list`), or podman's default connection (`-r`).
 * Plain data without zod: records carry it, and every command reads records. The podman
 * argv for a connection is made in one place, engine/host/podman.ts.
 */
export type PodmanConnection =
  /** A named connection of `podman system connection list`. */
  | { connection: string }
  /** Podman's default connection (`podman --remote`). */
  | { remote: true }
  /** ssh://USER@HOST[:PORT]/SOCKET, unix:///SOCKET or tcp://HOST:PORT (CONTAINER_HOST's form), with the SSH key (CONTAINER_SSHKEY's). */
  | { url: string; identity?: string };

// A connection name becomes one argument of podman's; never one that podman could read as a flag.
export const CONNECTION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const PODMAN_URL_RE = /^(ssh|unix|tcp):\/\/[^\s\u0000-\u001f\u007f]{1,1000}$/;

/** The connection podman itself would use from the environment: CONTAINER_HOST (+ CONTAINER_SSHKEY), else none. */
export function connectionFromEnv(env: Record<string, string | undefined> = process.env): PodmanConnection | undefined {
  const url = env.CONTAINER_HOST?.trim();
  if (!url) return undefined;
  const identity = env.CONTAINER_SSHKEY?.trim();
  return { url, ...(identity ? { identity } : {}) };
}

/** True for any podman but the local one. */
export const isRemotePodman = (c: PodmanConnection | undefined): c is PodmanConnection => !!c && ("connection" in c || "remote" in c || "url" in c);

/** How messages name it: "the podman at ssh://…", "podman connection NAME", "podman's default connection", "the local podman". */
export function describePodman(c: PodmanConnection | undefined): string {
  if (!c) return "the local podman";
  if ("url" in c) return `the podman at ${c.url}`;
  if ("connection" in c) return `podman connection "${c.connection}"`;
  return "podman's default connection";
}
