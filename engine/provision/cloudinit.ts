/**
 * --cloudinit: a NoCloud seed handed to cloud-init in the guest, one of two ways.
 * - cdrom: an ISO 9660 volume labelled "cidata" (made with xorriso), attached read-only.
 * - imds: the files served over HTTP by the VM's monitor on 127.0.0.1, reached by the
 *   guest through qemu's user network at 10.0.2.2, and announced to cloud-init in the
 *   SMBIOS system serial number (`ds=nocloud;s=URL`). The URL carries a random token:
 *   the server answers only under it, and only while the VM runs.
 */
import { randomBytes } from "node:crypto";
import { readFile, readdir, rename, rm } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { requireTool } from "../host/tools.js";
import { qemuOptionValue as q } from "../core/schema.js";
import { CLOUD_INIT_FILES } from "./inputs.js";

/** qemu's user network reaches the host's loopback at this address. */
export const SLIRP_HOST = "10.0.2.2";

/** Makes the seed ISO from the VM's copy of the NoCloud directory (temp file, then rename). */
export async function makeSeedIso(dir: string, out: string): Promise<void> {
  const files = (await readdir(dir)).filter((f) => (CLOUD_INIT_FILES as readonly string[]).includes(f)).sort();
  const tmp = `${out}.tmp-${process.pid}`;
  const r = await execa(requireTool("xorriso"), ["-as", "mkisofs", "-quiet", "-output", tmp, "-volid", "cidata", "-joliet", "-rock", ...files], {
    cwd: dir,
    reject: false,
  });
  if (r.exitCode !== 0) {
    await rm(tmp, { force: true });
    throw new BootcError(
      "BOOT_FAILED",
      `xorriso could not make the cloud-init seed: ${r.stderr.trim().split("\n").pop() ?? `exit code ${r.exitCode}`}`,
      "check that xorriso works: xorriso -version",
    );
  }
  await rename(tmp, out);
}

/** The seed ISO as a read-only virtio disk after the VM's own disks. */
export function seedIsoArgs(file: string): string[] {
  return ["-drive", `file=${q(file)},if=none,id=cidata,format=raw,readonly=on`, "-device", "virtio-blk-pci,drive=cidata"];
}

/** Points cloud-init's NoCloud source at `url` through the SMBIOS system serial number. */
export function imdsArgs(url: string): string[] {
  return ["-smbios", `type=1,serial=${q(`ds=nocloud;s=${url}`)}`];
}

export interface Imds {
  /** The URL as the guest sees it, ending in a slash as NoCloud wants. */
  guestUrl: string;
  port: number;
  close(): Promise<void>;
}

/** Serves the files of `dir` that NoCloud reads, under a random path, on 127.0.0.1. */
export async function startImds(dir: string): Promise<Imds> {
  const token = randomBytes(16).toString("hex");
  const server = http.createServer((req, res) => {
    const m = /^\/([0-9a-f]+)\/([a-z-]+)$/.exec(req.url ?? "");
    const name = m?.[2] ?? "";
    if (req.method !== "GET" || m?.[1] !== token || !(CLOUD_INIT_FILES as readonly string[]).includes(name)) {
      res.writeHead(404).end();
      return;
    }
    readFile(path.join(dir, name)).then(
      (body) => res.writeHead(200, { "content-type": "text/plain" }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const port = (server.address() as { port: number }).port;
  return {
    guestUrl: `http://${SLIRP_HOST}:${port}/${token}/`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
