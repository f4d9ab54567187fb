/**
 * Saved libvirt connections ("hosts"), by name: `bootc hosts add big qemu+ssh://me@big/system`,
 * then `bootc run --connect big …`. `bootc list` looks at every saved host (and at
 * BOOTC_CONNECT), so a VM made on a host stays visible; `run --connect URI` with a URI not
 * saved yet saves it under its label.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as z from "zod";
import { BootcError } from "../../core/errors.js";
import { hostsFile, type EnginePaths } from "../../core/paths.js";
import { writePrivateFile } from "../../core/private-file.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import { parseConnection, type Connection } from "./connection.js";
import { DEFAULT_POOL } from "./volumes.js";

export const HOST_NAME_RE = /^[a-z0-9][a-z0-9_.@:-]{0,62}$/;
const HostSchema = z.object({
  name: z.string().regex(HOST_NAME_RE),
  uri: z.string(),
  pool: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
});
const HostsSchema = z.object({ hosts: z.array(HostSchema) });
export type SavedHost = z.infer<typeof HostSchema>;

export interface Host extends SavedHost {
  connection: Connection;
  pool: string;
}

export async function readHosts(paths: EnginePaths): Promise<SavedHost[]> {
  const text = await readFile(hostsFile(paths), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  let parsed;
  try {
    parsed = HostsSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new BootcError("INVALID_ARGUMENT", `${hostsFile(paths)} is damaged`, "fix or remove it; bootc hosts add saves hosts again");
  return parsed.data.hosts;
}

async function writeHosts(paths: EnginePaths, hosts: SavedHost[]): Promise<void> {
  await ensurePrivateDir(path.dirname(hostsFile(paths)), paths);
  await writePrivateFile(hostsFile(paths), JSON.stringify({ hosts }, null, 2) + "\n");
}

const toHost = (h: SavedHost): Host => ({ ...h, connection: parseConnection(h.uri), pool: h.pool ?? DEFAULT_POOL });

export async function addHost(paths: EnginePaths, h: SavedHost): Promise<Host> {
  if (!HOST_NAME_RE.test(h.name))
    throw new BootcError(
      "INVALID_ARGUMENT",
      `${JSON.stringify(h.name)} is not a host name`,
      "use letters, digits and . _ - @ :, starting with a letter or digit",
    );
  if (h.name === "local") throw new BootcError("INVALID_ARGUMENT", `"local" names this machine's own VMs`, "pick another name");
  const host = toHost(h); // checks the URI
  if (h.pool !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(h.pool))
    throw new BootcError("INVALID_ARGUMENT", `${JSON.stringify(h.pool)} is not a storage pool name`, "use letters, digits, '.', '_' and '-'");
  const hosts = (await readHosts(paths)).filter((x) => x.name !== h.name);
  await writeHosts(paths, [...hosts, { name: h.name, uri: h.uri, ...(h.pool ? { pool: h.pool } : {}) }]);
  return host;
}

export async function removeHost(paths: EnginePaths, name: string): Promise<void> {
  const hosts = await readHosts(paths);
  if (!hosts.some((h) => h.name === name))
    throw new BootcError("INVALID_ARGUMENT", `no saved host named ${JSON.stringify(name)}`, "list them with: bootc hosts");
  await writeHosts(
    paths,
    hosts.filter((h) => h.name !== name),
  );
}

/** Every host bootc looks at: the saved ones, and BOOTC_CONNECT's if it is not among them. */
export async function knownHosts(paths: EnginePaths, env: NodeJS.ProcessEnv = process.env): Promise<Host[]> {
  const saved = (await readHosts(paths)).map(toHost);
  const extra =
    env.BOOTC_CONNECT && !saved.some((h) => h.uri === env.BOOTC_CONNECT || h.name === env.BOOTC_CONNECT)
      ? [toHost({ name: parseConnection(env.BOOTC_CONNECT).label, uri: env.BOOTC_CONNECT })]
      : [];
  return [...saved, ...extra];
}

/**
 * The host that `--connect VALUE` means: a saved host's name, or a URI. `saved` is false for
 * a URI not saved yet: the caller saves it (rememberHost) once a VM was made there, so that
 * `bootc list` keeps finding that VM.
 */
export async function resolveHost(paths: EnginePaths, value: string): Promise<Host & { saved: boolean }> {
  const saved = await readHosts(paths);
  const byName = saved.find((h) => h.name === value || h.uri === value);
  if (byName) return { ...toHost(byName), saved: true };
  if (!value.includes(":"))
    throw new BootcError(
      "INVALID_ARGUMENT",
      `no saved host named ${JSON.stringify(value)}`,
      "give a libvirt URI (qemu:///system, qemu+ssh://USER@HOST/system) or save one: bootc hosts add NAME URI",
    );
  const c = parseConnection(value);
  const name = saved.some((h) => h.name === c.label) ? `${c.label}-${saved.length}` : c.label;
  return { ...toHost({ name, uri: value }), saved: false };
}

export async function rememberHost(paths: EnginePaths, host: Host & { saved: boolean }): Promise<void> {
  if (!host.saved) await addHost(paths, { name: host.name, uri: host.uri });
}
