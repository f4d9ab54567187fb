/**
 * Local container images through podman: list, inspect, and the bootc test — the label
 * `containers.bootc=1`, or (for inspect, which can look inside) a kernel under
 * /usr/lib/modules.
 */
import { BootcError } from "../core/errors.js";
import { describePodman, isRemotePodman, type PodmanConnection } from "../core/podman-connection.js";
import { podman, podmanJson } from "../host/podman.js";
import { emulationNote } from "../host/arch.js";
import { hostArch } from "../host/tools.js";

export const BOOTC_LABEL = "containers.bootc";

export interface ImageSummary {
  id: string;
  names: string[];
  digest: string;
  sizeBytes: number;
  createdAt: string;
  labels: Record<string, string>;
  bootc: boolean;
  dangling: boolean;
  /** podman's name for the image's architecture (amd64, arm64); "" when podman does not say. */
  arch: string;
  /** Set when it is another architecture than this host's: it boots emulated, and this says so. */
  emulation?: string;
}

export interface PodmanImageRow {
  Id: string;
  Names?: string[] | null;
  Digest?: string;
  Size?: number;
  Created?: number;
  CreatedAt?: string;
  Labels?: Record<string, string> | null;
  Dangling?: boolean;
}

export const hasBootcLabel = (labels: Record<string, string> | null | undefined) => labels?.[BOOTC_LABEL] === "1";

export function toImageSummary(row: PodmanImageRow): ImageSummary {
  const names = row.Names ?? [];
  return {
    id: row.Id,
    names,
    digest: row.Digest ?? "",
    sizeBytes: row.Size ?? 0,
    createdAt: row.CreatedAt ?? (row.Created ? new Date(row.Created * 1000).toISOString() : ""),
    labels: row.Labels ?? {},
    bootc: hasBootcLabel(row.Labels),
    dangling: row.Dangling ?? names.length === 0,
    arch: "",
  };
}

/** `podman image inspect --format '{{.Id}} {{.Architecture}}'`'s lines → architecture by id. */
export function parseArchLines(text: string): Map<string, string> {
  const byId = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [id, arch] = line.trim().split(/\s+/);
    if (id) byId.set(id, arch ?? "");
  }
  return byId;
}

/**
 * One summary per image, with every name it has. A remote podman (4.x) answers one row per
 * name of a multi-tag image, each row with all the names; a local one answers one row per
 * image. Either way each image comes out once, its names in podman's order, none twice.
 */
export function mergeImageRows(rows: PodmanImageRow[]): ImageSummary[] {
  const byId = new Map<string, ImageSummary>();
  for (const row of rows) {
    const s = toImageSummary(row);
    const seen = byId.get(s.id);
    if (!seen) byId.set(s.id, { ...s, names: [...new Set(s.names)] });
    else {
      seen.names = [...new Set([...seen.names, ...s.names])];
      seen.dangling = seen.dangling && s.dangling;
    }
  }
  return [...byId.values()];
}

/** bootc images first, then by name; dangling images only with `all`. `podman`: another podman's images (a connection). */
export async function listImages(opts: { all?: boolean; podman?: PodmanConnection } = {}): Promise<ImageSummary[]> {
  const rows = await podmanJson<PodmanImageRow[]>(["images", "--format", "json", ...(opts.all ? ["--all"] : [])], {}, opts.podman);
  const images = mergeImageRows(rows)
    .filter((i) => opts.all || !i.dangling)
    .sort((a, b) => Number(b.bootc) - Number(a.bootc) || (a.names[0] ?? "~").localeCompare(b.names[0] ?? "~"));
  // `podman images` (4.x) does not say the architecture: one inspect for all of them. An image
  // removed meanwhile fails it; the list then shows no architecture rather than failing.
  if (images.length) {
    const text = await podman(["image", "inspect", "--format", "{{.Id}} {{.Architecture}}", ...images.map((i) => i.id)], {}, opts.podman).catch(() => "");
    const arch = parseArchLines(text);
    for (const i of images) {
      i.arch = arch.get(i.id) ?? "";
      const note = emulationNote(i.arch, hostArch());
      if (note) i.emulation = note;
    }
  }
  return images;
}

export interface ImageDetails {
  id: string;
  names: string[];
  digest: string;
  sizeBytes: number;
  arch: string;
  os: string;
  createdAt: string;
  labels: Record<string, string>;
  bootcLabel: boolean;
}

interface PodmanInspect {
  Id: string;
  RepoTags?: string[];
  Digest?: string;
  Size?: number;
  Architecture?: string;
  Os?: string;
  Created?: string;
  Labels?: Record<string, string> | null;
  Config?: { Labels?: Record<string, string> | null };
}

/** The error for an image that `c` (the local podman when none) does not have. */
export function imageNotFound(ref: string, c?: PodmanConnection): BootcError {
  if (isRemotePodman(c))
    return new BootcError(
      "IMAGE_NOT_FOUND",
      `image "${ref}" is not in ${describePodman(c)}`,
      "list that podman's images with `bootc images` and the same connection (CONTAINER_HOST, --connection NAME or -r)",
    );
  return new BootcError(
    "IMAGE_NOT_FOUND",
    `image "${ref}" is not in local storage`,
    "list local images with `bootc images`; build the demo image with `bootc demo build`",
  );
}

/** An image's details, from the local podman or from another (`c`, a connection). */
export async function inspectImage(ref: string, c?: PodmanConnection): Promise<ImageDetails> {
  if (!ref || ref.startsWith("-"))
    throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`, "give an image name such as localhost/bootc-demo");
  // `image exists` exits 1 for a missing image, and 125 when podman (or a remote) failed: only the first is "not found".
  const exists = await podman(["image", "exists", ref], {}, c).then(
    () => true,
    (e: unknown) => {
      if (isRemotePodman(c) && e instanceof BootcError && e.code === "PODMAN_UNREACHABLE") throw e;
      return false;
    },
  );
  if (!exists) throw imageNotFound(ref, c);
  const [i] = await podmanJson<PodmanInspect[]>(["image", "inspect", ref], {}, c);
  if (!i) throw imageNotFound(ref, c);
  const labels = i.Labels ?? i.Config?.Labels ?? {};
  return {
    id: i.Id,
    names: i.RepoTags ?? [],
    digest: i.Digest ?? "",
    sizeBytes: i.Size ?? 0,
    arch: i.Architecture ?? "",
    os: i.Os ?? "",
    createdAt: i.Created ?? "",
    labels,
    bootcLabel: hasBootcLabel(labels),
  };
}
