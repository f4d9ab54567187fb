"use client";
import { Button, Checkbox, Label, SearchInput, Toolbar, ToolbarContent, ToolbarItem } from "@patternfly/react-core";
import { useEffect, useRef, useState } from "react";
import { consoleSession, type ConnectionState } from "../lib/terminal";

function Badge({ state }: { state: ConnectionState }) {
  if (state.kind === "connected") return <Label color="green">Connected</Label>;
  if (state.kind === "connecting") return <Label color="blue">Connecting…</Label>;
  if (state.kind === "ended") return <Label color="grey">{state.reason}</Label>;
  return <Label color="orange">Disconnected: {state.reason}</Label>;
}

/** One console (serial or SSH) in an xterm.js terminal that survives page changes. */
export function TerminalPanel({ vm, kind, active, bootId }: { vm: string; kind: "serial" | "ssh"; active: boolean; bootId: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [session, setSession] = useState<ReturnType<typeof consoleSession>>();
  const [state, setState] = useState<ConnectionState>({ kind: "connecting" });
  const [query, setQuery] = useState("");
  const [reader, setReader] = useState(false);

  useEffect(() => {
    const s = consoleSession(vm, kind);
    setSession(s);
    setState(s.state);
    setReader(s.screenReaderMode); // the session outlives the page: show its setting
    const off = s.onChange(() => setState({ ...s.state }));
    const el = host.current!;
    el.appendChild(s.element);
    const fit = () => void s.fitNow();
    void s.fitNow().then(() => s.focus());
    const observer = new ResizeObserver(fit);
    observer.observe(el);
    return () => {
      off();
      observer.disconnect();
      // Keep the session (screen and connection); only take it out of this page.
      if (s.element.parentElement === el) el.removeChild(s.element);
    };
  }, [vm, kind]);

  // Follow the VM: when it boots again (Start, Restart, Rebuild & reboot), reattach once
  // per new boot, without a click.
  // Only a real boot id counts: until the VM's data has loaded it is "", and taking that for
  // a boot would make the first close look like a new boot.
  useEffect(() => {
    if (!session || !bootId) return;
    if (session.bootId === undefined) {
      session.bootId = bootId;
      return;
    }
    if (active && state.kind === "ended" && session.bootId !== bootId) {
      session.bootId = bootId;
      session.connect();
    }
  }, [active, bootId, state.kind, session]);

  const label = kind === "serial" ? "Serial console" : "SSH console";
  return (
    <div>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <span aria-label={`${label} connection`}>
              <Badge state={state} />
            </span>
          </ToolbarItem>
          {session?.reattachedAt && (
            <ToolbarItem>
              <small aria-label={`${label} reattached`}>Followed the VM into a new boot at {session.reattachedAt.toLocaleTimeString()}</small>
            </ToolbarItem>
          )}
          {(state.kind === "dropped" || (state.kind === "ended" && active)) && (
            <ToolbarItem>
              <Button variant="secondary" size="sm" onClick={() => session?.connect()}>
                Reconnect
              </Button>
            </ToolbarItem>
          )}
          <ToolbarItem>
            <SearchInput
              aria-label={`Search the ${label.toLowerCase()}`}
              placeholder="Search"
              value={query}
              onChange={(_e, v) => setQuery(v)}
              onSearch={(_e, v) => session?.search?.findNext(v)}
              onClear={() => setQuery("")}
            />
          </ToolbarItem>
          <ToolbarItem>
            <Checkbox
              id={`${kind}-reader`}
              label="Screen reader mode"
              isChecked={reader}
              onChange={(_e, v) => {
                setReader(v);
                session?.setScreenReaderMode(v);
              }}
            />
          </ToolbarItem>
          <ToolbarItem align={{ default: "alignEnd" }}>
            <small>Copy: Ctrl+Shift+C · Paste: Ctrl+Shift+V · Ctrl+C goes to the guest</small>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      <div ref={host} className="bootc-terminal-host" role="region" aria-label={label} />
    </div>
  );
}
