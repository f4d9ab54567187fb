/**
 * Which podman a command asks, as podman's own CLI decides it: `--connection NAME` (a named
 * connection), `-r/--remote` (the default connection), else CONTAINER_HOST (+
 * CONTAINER_SSHKEY), else the local podman.
 */
import { BootcError } from "../../engine/core/errors.js";
import { connectionFromEnv, type PodmanConnection } from "../../engine/core/podman-connection.js";

export const PODMAN_FLAG_OPTIONS = {
  connection: { type: "string" },
  remote: { type: "boolean", short: "r" },
} as const;

export const PODMAN_FLAG_HELP = `  --connection NAME      the images of podman's connection NAME (podman system connection list)
  -r, --remote           the images of podman's default connection (a podman machine)
Without them, CONTAINER_HOST (and CONTAINER_SSHKEY) name another podman, as for podman itself.`;

export function podmanFromFlags(
  given: PodmanConnection | undefined,
  remote: boolean | undefined,
  env: Record<string, string | undefined> = process.env,
): PodmanConnection | undefined {
  if (given && remote) throw new BootcError("INVALID_ARGUMENT", "give --connection NAME or -r (--remote), not both", "-r is podman's default connection");
  if (given) return given;
  if (remote) return { remote: true };
  return connectionFromEnv(env);
}
