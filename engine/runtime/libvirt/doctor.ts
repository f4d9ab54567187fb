/**
 * `bootc doctor` rows for libvirt, one per known host (bootc hosts, BOOTC_CONNECT): the
 * daemon answers, runs qemu, can share folders (virtiofs), and has the storage pool. No
 * host known: no rows, since nobody asked for libvirt.
 */
import type { DoctorRow } from "../../host/doctor-row.js";
import { findOnPath } from "../../host/tools.js";
import type { EnginePaths } from "../../core/paths.js";
import { knownHosts, type Host } from "./hosts.js";
import { LIBVIRT_HINT, virsh, virshMaybe } from "./virsh.js";
import { DEFAULT_POOL } from "./volumes.js";

/** A daemon that takes this long to answer `version` is re-probing qemu on every call. */
const SLOW_MS = 4000;

async function checkHost(h: Host): Promise<DoctorRow> {
  const base = { id: `libvirt:${h.name}`, name: `libvirt host ${h.name}`, required: false };
  const t0 = Date.now();
  let version: string;
  try {
    version = await virsh(h.connection, ["version"], { timeoutMs: 60_000 });
  } catch (e) {
    const hint = (e as { hint?: string }).hint;
    return { ...base, status: "fail", detail: (e as Error).message, ...(hint ? { fix: hint } : {}) };
  }
  const took = Date.now() - t0;
  const qemu = /Running hypervisor: (QEMU [\d.]+)/.exec(version)?.[1];
  if (!qemu)
    return { ...base, status: "fail", detail: `${h.uri} runs no qemu driver`, fix: "install libvirt's qemu driver there (Debian: libvirt-daemon-driver-qemu)" };
  const caps = await virshMaybe(h.connection, ["domcapabilities", "--virttype", "qemu"]).catch(() => undefined);
  const virtiofs = caps && /<filesystem supported='yes'>[\s\S]*?<value>virtiofs<\/value>/.test(caps) ? "virtiofs" : "no virtiofs";
  const pool = await virshMaybe(h.connection, ["pool-info", h.pool]).catch(() => undefined);
  const poolText =
    pool === undefined
      ? h.pool === DEFAULT_POOL
        ? `pool ${h.pool} made on first use`
        : `pool ${h.pool} missing`
      : `pool ${h.pool} ${/^State:\s+running/m.test(pool) ? "active" : "inactive (started on use)"}`;
  const detail = `${h.uri}: ${qemu}, ${virtiofs}, ${poolText}`;
  if (pool === undefined && h.pool !== DEFAULT_POOL) {
    return {
      ...base,
      status: "fail",
      detail,
      fix: `create the pool (virsh -c ${h.uri} pool-define-as ${h.pool} dir --target DIR; pool-build; pool-start) or save the host without --pool`,
    };
  }
  if (took > SLOW_MS) {
    return {
      ...base,
      status: "warn",
      detail: `${detail}; answering took ${(took / 1000).toFixed(1)} s`,
      fix: "libvirt re-probes qemu on every call when /dev/kvm exists but its qemu user cannot open it: give /dev/kvm group kvm, mode 0660 (what udev does)",
    };
  }
  return { ...base, status: "ok", detail };
}

export async function libvirtRows(paths: EnginePaths, env: NodeJS.ProcessEnv): Promise<DoctorRow[]> {
  const hosts = await knownHosts(paths, env).catch(() => []);
  if (!hosts.length) return [];
  if (!findOnPath("virsh", env))
    return [
      {
        id: "virsh",
        name: "virsh (libvirt client)",
        required: false,
        status: "fail",
        detail: `not found, and ${hosts.length} libvirt host(s) are saved`,
        fix: LIBVIRT_HINT,
      },
    ];
  return Promise.all(hosts.map(checkHost));
}
