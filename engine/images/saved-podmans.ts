/**
 * The podmans a server offers besides its own, by name, as libvirt hosts are saved
 * (runtime/libvirt/hosts.ts): `<state>/podmans.json`. The web console's Images page lists
 * and switches between them; each is a connection as podman reaches it (a URL with its SSH
 * key, one of podman's named connections, or its default connection).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import * as z from "zod";
import { BootcError } from "../core/errors.js";
import { podmansFile, type EnginePaths } from "../core/paths.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { writePrivateFile } from "../core/private-file.js";
import { podmanConnectionSchema } from "../core/schema.js";

export const SAVED_PODMAN_NAME_RE = /^[a-z0-9][a-z0-9_.@-]{0,62}$/;
const SavedPodmanSchema = z.object({ name: z.string().regex(SAVED_PODMAN_NAME_RE), podman: podmanConnectionSchema });
const FileSchema = z.object({ podmans: z.array(SavedPodmanSchema) });
export type SavedPodman = z.infer<typeof SavedPodmanSchema>;

export async function readSavedPodmans(paths: EnginePaths): Promise<SavedPodman[]> {
  const text = await readFile(podmansFile(paths), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  let parsed;
  try {
    parsed = FileSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new BootcError("INVALID_ARGUMENT", `${podmansFile(paths)} is damaged`, "fix or remove it; the Images page saves podmans again");
  return parsed.data.podmans;
}

async function write(paths: EnginePaths, podmans: SavedPodman[]): Promise<void> {
  await ensurePrivateDir(path.dirname(podmansFile(paths)), paths);
  await writePrivateFile(podmansFile(paths), JSON.stringify({ podmans }, null, 2) + "\n");
}

/** Saves (or replaces) a podman under `name`; "local" is the server's own podman and cannot be taken. */
export async function savePodman(paths: EnginePaths, name: string, podman: PodmanConnection): Promise<SavedPodman> {
  if (!SAVED_PODMAN_NAME_RE.test(name))
    throw new BootcError(
      "INVALID_ARGUMENT",
      `${JSON.stringify(name)} is not a name for a podman`,
      "use lower-case letters, digits and . _ - @, starting with a letter or digit",
    );
  if (name === "local") throw new BootcError("INVALID_ARGUMENT", `"local" names the server's own podman`, "pick another name");
  const checked = podmanConnectionSchema.safeParse(podman);
  if (!checked.success)
    throw new BootcError("INVALID_ARGUMENT", `${describePodman(podman)} is not a podman connection: ${checked.error.issues[0]?.message ?? ""}`);
  const saved = { name, podman: checked.data };
  await write(paths, [...(await readSavedPodmans(paths)).filter((p) => p.name !== name), saved]);
  return saved;
}

export async function forgetPodman(paths: EnginePaths, name: string): Promise<void> {
  const all = await readSavedPodmans(paths);
  if (!all.some((p) => p.name === name))
    throw new BootcError("INVALID_ARGUMENT", `no saved podman named ${JSON.stringify(name)}`, "the Images page lists them");
  await write(
    paths,
    all.filter((p) => p.name !== name),
  );
}
