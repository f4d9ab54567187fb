"use client";
import { Button, ToggleGroup, ToggleGroupItem, Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core";
import { useCallback, useEffect, useState } from "react";
import { errorText, trpc } from "../lib/trpc";

// Terminal escapes make no sense in a text view.
// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g;

/** The VM's serial log (kept after it stops) or its monitor's diagnostics, refreshed on demand. */
export function LogsView({ vm }: { vm: string }) {
  const [which, setWhich] = useState<"serial" | "monitor">("serial");
  const [text, setText] = useState("");
  const [note, setNote] = useState<string>();
  const load = useCallback(() => {
    trpc.vms.logs.query({ name: vm, which }).then(
      (r) => {
        setText(r.text.replace(ESCAPES, ""));
        setNote(r.truncated ? "Showing the last 256 KiB." : undefined);
      },
      (e: unknown) => setNote(errorText(e)),
    );
  }, [vm, which]);
  useEffect(load, [load]);
  return (
    <div>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <ToggleGroup aria-label="Which log">
              <ToggleGroupItem text="Serial log" isSelected={which === "serial"} onChange={() => setWhich("serial")} />
              <ToggleGroupItem text="Monitor log" isSelected={which === "monitor"} onChange={() => setWhich("monitor")} />
            </ToggleGroup>
          </ToolbarItem>
          <ToolbarItem>
            <Button variant="secondary" size="sm" onClick={load}>
              Refresh
            </Button>
          </ToolbarItem>
          {note && (
            <ToolbarItem>
              <small>{note}</small>
            </ToolbarItem>
          )}
        </ToolbarContent>
      </Toolbar>
      <pre className="bootc-log" style={{ maxHeight: "60vh" }} aria-label={which === "serial" ? "Serial log" : "Monitor log"}>
        {text || "(empty)"}
      </pre>
    </div>
  );
}
