"use client";
/**
 * The VM page's Boot tab: where the current boot's time went, drawn as SVG timelines (the
 * host's phases, then the guest's critical chain), each bar named for screen readers and
 * with its exact figures on hover; after a rebuild or restart, what changed since the boot
 * before, largest change first.
 */
import { Alert, Spinner, Title } from "@patternfly/react-core";
import { useEffect, useState } from "react";
import { errorText, trpc, type Vm } from "../lib/trpc";

type Insight = Awaited<ReturnType<typeof trpc.vms.bootReport.query>>;
type Report = Insight["report"];
type Change = NonNullable<Insight["comparison"]>["units"][number];

const COLOURS = ["#06c", "#f0ab00", "#8476d1", "#3e8635", "#009596", "#c9190b", "#ec7a08", "#6a6e73"];
const secs = (s: number) => `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
const signed = (s: number) => `${s < 0 ? "−" : "+"}${secs(Math.abs(s))}`;

interface Bar {
  label: string;
  start: number;
  length: number;
  /** What a screen reader hears and a hover shows. */
  detail: string;
}

/** Bars on one time axis, one row each: a Gantt chart. */
function Timeline({ title, bars, total, unit }: { title: string; bars: Bar[]; total: number; unit: string }) {
  const row = 22;
  const labelWidth = 260;
  const width = 900;
  const scale = (width - labelWidth - 80) / (total || 1);
  return (
    <svg role="group" aria-label={title} width="100%" viewBox={`0 0 ${width} ${bars.length * row + 24}`} style={{ maxWidth: width, fontSize: 12 }}>
      {bars.map((b, i) => (
        <g key={`${b.label}-${i}`} role="img" aria-label={b.detail} transform={`translate(0 ${i * row})`}>
          <title>{b.detail}</title>
          <text x={labelWidth - 8} y={15} textAnchor="end" fill="currentColor">
            {b.label}
          </text>
          <rect x={labelWidth + b.start * scale} y={4} width={Math.max(1, b.length * scale)} height={row - 8} rx={2} fill={COLOURS[i % COLOURS.length]} />
          <text x={labelWidth + (b.start + b.length) * scale + 6} y={15} fill="currentColor">
            {secs(b.length)}
          </text>
        </g>
      ))}
      <text x={labelWidth} y={bars.length * row + 18} fill="currentColor" opacity={0.7}>
        0 s
      </text>
      <text x={width - 80} y={bars.length * row + 18} textAnchor="end" fill="currentColor" opacity={0.7}>
        {secs(total)} {unit}
      </text>
    </svg>
  );
}

function phaseBars(r: Report): Bar[] {
  return r.phases.map((p) => ({
    label: p.name,
    start: p.startSeconds,
    length: p.seconds,
    detail: `${p.name}: ${secs(p.seconds)}, from ${secs(p.startSeconds)} to ${secs(p.startSeconds + p.seconds)}`,
  }));
}

/** The critical chain in the order things happened: what the default target waited for, first to last. */
function chainBars(r: Report): Bar[] {
  return [...r.criticalChain]
    .filter((l) => l.atSec !== undefined)
    .reverse()
    .map((l) => {
      const took = l.seconds ?? 0;
      const start = Math.max(0, l.atSec! - took);
      return {
        label: l.name,
        start,
        length: took,
        detail: `${l.name}: ${l.seconds !== undefined ? `took ${secs(took)}, ` : ""}active at ${secs(l.atSec!)} after userspace began`,
      };
    });
}

function changeText(c: Change): string {
  const how = c.kind === "added" ? "new in this boot" : c.kind === "removed" ? "gone from this boot" : `${secs(c.before!)} → ${secs(c.after!)}`;
  return `${c.name}: ${signed(c.delta)} (${how})`;
}

function Comparison({ insight }: { insight: Insight }) {
  const c = insight.comparison;
  if (!c) return <p>This is the VM&apos;s first boot kept: after a rebuild or restart, this tab compares the new boot with it.</p>;
  const list = (label: string, changes: Change[]) =>
    changes.length ? (
      <ol aria-label={label}>
        {changes.slice(0, 10).map((x) => (
          <li key={x.name}>{changeText(x)}</li>
        ))}
      </ol>
    ) : (
      <p>Nothing moved.</p>
    );
  return (
    <section aria-label="Compared with the previous boot">
      <Title headingLevel="h3" style={{ marginTop: 16 }}>
        Compared with the previous boot
      </Title>
      <p>
        {signed(c.totalDelta)} to the end of the boot ({secs(c.before.totalSeconds)} → {secs(c.after.totalSeconds)})
        {c.before.imageId !== c.after.imageId ? `; image ${c.before.imageId.slice(0, 12)} → ${c.after.imageId.slice(0, 12)}` : ""}.
      </p>
      <Title headingLevel="h4">Units (new and gone first, then by how much they moved)</Title>
      {c.unitsMissing ? <p>Not compared: {c.unitsMissing}.</p> : list("Unit changes", c.units)}
      {c.unitsNote ? <p>Left out: {c.unitsNote}.</p> : null}
      <Title headingLevel="h4">Phases</Title>
      {list("Phase changes", c.phases)}
    </section>
  );
}

export function BootInsight({ vm }: { vm: Vm }) {
  const [insight, setInsight] = useState<Insight>();
  const [error, setError] = useState<string>();
  // Asked again when a new boot starts and when it becomes ready (then the guest can be asked).
  const bootKey = `${vm.timeline.find((t) => t.event === "created")?.at ?? ""}/${vm.effectiveState === "ssh-ready"}`;
  useEffect(() => {
    let live = true;
    setError(undefined);
    trpc.vms.bootReport.query({ name: vm.name }).then(
      (r) => live && setInsight(r),
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, [vm.name, bootKey]);
  if (error) return <Alert variant="danger" isInline title={error} style={{ marginTop: 16 }} />;
  if (!insight) return <Spinner aria-label="Reading the boot report" style={{ marginTop: 16 }} />;
  const r = insight.report;
  const chain = chainBars(r);
  return (
    <div style={{ marginTop: 16 }}>
      <Title headingLevel="h3">
        {secs(r.totalSeconds)} from {r.from === "soft-reboot" ? "the soft reboot" : "created"} to{" "}
        {r.phases.at(-1)?.until === "ssh-ready" ? "SSH ready" : "the last mark so far"}
      </Title>
      <Timeline title="Boot phases" bars={phaseBars(r)} total={r.totalSeconds} unit={r.from === "soft-reboot" ? "after the soft reboot" : "after created"} />
      {r.guest && (
        <p>
          The guest (systemd-analyze): {r.guest.kernelSec !== undefined ? `${secs(r.guest.kernelSec)} kernel + ` : ""}
          {r.guest.initrdSec !== undefined ? `${secs(r.guest.initrdSec)} initrd + ` : ""}
          {secs(r.guest.userspaceSec)} userspace{r.guest.target ? `; ${r.guest.target.name} after ${secs(r.guest.target.afterSec)} in userspace` : ""}.
        </p>
      )}
      {chain.length > 0 && (
        <>
          <Title headingLevel="h3" style={{ marginTop: 16 }}>
            Critical chain
          </Title>
          <Timeline title="Critical chain" bars={chain} total={Math.max(...chain.map((b) => b.start + b.length))} unit="in userspace" />
        </>
      )}
      {r.note && <Alert variant="info" isInline title={r.note} style={{ marginTop: 16 }} />}
      <Comparison insight={insight} />
    </div>
  );
}
