/**
 * Local container images through podman: list, inspect, and the bootc test — the label
 * `containers.bootc=1`, or (for inspect, which can look inside) a kernel under
 * /usr/lib/modules.
 */
import { BootcError } from "../core/errors.js";
import { podman, podmanJson } from "../host/podman.js";

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
}

interface PodmanImageRow {
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
  };
}

/** bootc images first, then by name; dangling images only with `all`. */
export async function listImages(opts: { all?: boolean } = {}): Promise<ImageSummary[]> {
  const rows = await podmanJson<PodmanImageRow[]>(["images", "--format", "json", ...(opts.all ? ["--all"] : [])]);
  return rows
    .map(toImageSummary)
    .filter((i) => opts.all || !i.dangling)
    .sort((a, b) => Number(b.bootc) - Number(a.bootc) || (a.names[0] ?? "~").localeCompare(b.names[0] ?? "~"));
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

export async function inspectImage(ref: string): Promise<ImageDetails> {
  if (!ref || ref.startsWith("-"))
    throw new BootcError("INVALID_ARGUMENT", `"${ref}" is not an image reference`, "give an image name such as localhost/bootc-demo");
  const exists = await podman(["image", "exists", ref]).then(
    () => true,
    () => false,
  );
  if (!exists) {
    throw new BootcError(
      "IMAGE_NOT_FOUND",
      `image "${ref}" is not in local storage`,
      "list local images with `bootc images`; build the demo image with `bootc demo build`",
    );
  }
  const [i] = await podmanJson<PodmanInspect[]>(["image", "inspect", ref]);
  if (!i) throw new BootcError("IMAGE_NOT_FOUND", `image "${ref}" is not in local storage`);
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
