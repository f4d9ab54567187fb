"use client";
import { Alert, Progress, ExpandableSection } from "@patternfly/react-core";
import { useEffect, useRef, useState } from "react";
import { trpc } from "../lib/trpc";

/** Live progress of a pull or demo build: bar when a percentage is known, the log always, then the outcome. */
export function JobProgress({ id, title, onDone }: { id: string; title: string; onDone?: (ok: boolean) => void }) {
  const [lines, setLines] = useState<string[]>([]);
  const [percent, setPercent] = useState<number>();
  const [done, setDone] = useState<{ ok: boolean; error?: string; hint?: string }>();
  const [showLog, setShowLog] = useState(true);
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const sub = trpc.jobs.follow.subscribe(
      { id },
      {
        onData: (e) => {
          if (e.type === "log") setLines((l) => [...l.slice(-999), e.line]);
          else if (e.type === "progress") setPercent(e.percent);
          else {
            setDone(e.ok ? { ok: true } : { ok: false, error: e.error, hint: e.hint });
            onDone?.(e.ok);
          }
        },
      },
    );
    return () => sub.unsubscribe();
  }, [id, onDone]);
  useEffect(() => {
    logRef.current?.scrollTo(0, logRef.current.scrollHeight);
  }, [lines]);
  const step = [...lines]
    .reverse()
    .find((l) => l.startsWith("==>"))
    ?.slice(4);
  return (
    <section aria-label={`Progress: ${title}`} style={{ marginBottom: 16 }}>
      {done?.ok && <Alert variant="success" isInline title={`${title}: done`} />}
      {done && !done.ok && (
        <Alert variant="danger" isInline title={`${title} failed`}>
          <p className="bootc-mono">{done.error}</p>
          {done.hint && <p>{done.hint}</p>}
        </Alert>
      )}
      {!done && (
        <Progress
          title={step ?? title}
          aria-label={title}
          value={percent ?? 100}
          measureLocation={percent === undefined ? "none" : "outside"}
          helperText={percent === undefined ? "working…" : undefined}
        />
      )}
      <ExpandableSection toggleText={showLog ? "Hide log" : "Show log"} isExpanded={showLog} onToggle={(_e, v) => setShowLog(v)}>
        <pre ref={logRef} className="bootc-log" aria-label={`Log: ${title}`}>
          {lines.join("\n")}
        </pre>
      </ExpandableSection>
    </section>
  );
}
