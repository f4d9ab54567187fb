"use client";
import { Progress } from "@patternfly/react-core";
import { useEffect, useState } from "react";
import { trpc, type Vm } from "../lib/trpc";

/** Always shown, in boot order. */
const PHASES = ["created", "qemu-started", "first-serial-byte", "kernel-to-userspace", "ssh-ready"];
/**
 * Shown when they happened: a rebuild's build, the export of an image of another podman,
 * disk mode's base disk, and the kernel's
 * "Run /init" line, which a quiet console (emulated boots) does not print.
 */
const OPTIONAL = new Set([
  "build-started",
  "build-finished",
  "image-root-exported",
  "image-root-cached",
  "disk-built",
  "disk-reused",
  "disk-ready",
  "kernel-to-userspace",
]);
const ORDER = [
  "build-started",
  "build-finished",
  "created",
  "image-root-exported",
  "image-root-cached",
  "disk-built",
  "disk-reused",
  "disk-ready",
  ...PHASES.slice(1),
];
/** A soft reboot into a rebuilt image keeps the kernel: no qemu start, no first serial byte (docs/engine.md). */
const SOFT_ORDER = ["build-started", "build-finished", "soft-reboot", "ssh-ready"];

/** The current boot's phases with times relative to its start (see the engine's record). */
export function BootTimeline({ vm }: { vm: Vm }) {
  const t0 = Date.parse(vm.timeline[0]?.at ?? "");
  const at = (e: string) => vm.timeline.find((t) => t.event === e)?.at;
  const shown = at("soft-reboot") ? SOFT_ORDER.filter((p) => !OPTIONAL.has(p) || at(p)) : ORDER.filter((p) => !OPTIONAL.has(p) || at(p));
  return (
    <>
      <ol aria-label="Boot timeline" style={{ display: "flex", gap: 24, listStyle: "none", padding: 0, flexWrap: "wrap" }}>
        {shown.map((p) => {
          const when = at(p);
          return (
            <li key={p} style={{ opacity: when ? 1 : 0.5 }}>
              {when ? "✓" : "○"} {p.replaceAll("-", " ")}
              {when && p !== vm.timeline[0]?.event ? ` +${((Date.parse(when) - t0) / 1000).toFixed(1)}s` : ""}
            </li>
          );
        })}
      </ol>
      {vm.mode === "disk" && vm.effectiveState === "creating" && <DiskBuildProgress name={vm.name} />}
    </>
  );
}

/** While a disk VM's base disk is being built: the builder's step and bytes written. */
function DiskBuildProgress({ name }: { name: string }) {
  const [p, setP] = useState<{ step: string; bytes?: number; totalBytes?: number }>();
  useEffect(() => {
    const sub = trpc.vms.watch.subscribe({ name }, { onData: (e) => e.type === "progress" && setP(e) });
    return () => sub.unsubscribe();
  }, [name]);
  if (!p) return null;
  const pct = p.bytes !== undefined && p.totalBytes ? Math.min(100, Math.round((p.bytes / p.totalBytes) * 100)) : undefined;
  return pct === undefined ? (
    <p aria-label="Disk build progress">Base disk: {p.step}…</p>
  ) : (
    <Progress aria-label="Disk build progress" title={`Base disk: ${p.step}`} value={pct} measureLocation="outside" style={{ marginBottom: 16 }} />
  );
}
