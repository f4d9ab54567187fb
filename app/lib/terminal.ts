"use client";
/**
 * A console session in the browser: an xterm.js terminal bound to one terminal websocket
 * (server/protocol/frames.ts). Sessions live in a module-level cache, so a console keeps
 * its screen and connection while the user visits another page and comes back.
 * xterm is imported dynamically: it touches `window` and must never run on the server.
 */
import { decodeServerFrame, encodeAck, encodeInput, encodeResize, HEARTBEAT_DEADLINE_MS, type Control } from "../../server/protocol/frames";
import { withSessionKey } from "./session";
import { terminalRenderer, webglRenderer } from "./gl-renderer";

type XTerm = import("@xterm/xterm").Terminal;

/**
 * The states a console shows, and what moves it between them:
 *   connecting → connected           the server said the console is attached
 *   connected  → dropped             the socket closed without the VM ending, or the server
 *                                    went silent past the heartbeat deadline: Reconnect is offered
 *   any        → ended               the server said the VM (or the session) ended, and why;
 *                                    a new boot of the VM is followed by itself (the panel)
 *   dropped | ended → connecting     Reconnect, or following a new boot
 */
export type ConnectionState = { kind: "connecting" } | { kind: "connected" } | { kind: "dropped"; reason: string } | { kind: "ended"; reason: string };

export class ConsoleSession {
  readonly element: HTMLDivElement;
  state: ConnectionState = { kind: "connecting" };
  private term?: XTerm;
  private fit?: import("@xterm/addon-fit").FitAddon;
  search?: import("@xterm/addon-search").SearchAddon;
  private ws?: WebSocket;
  private listeners = new Set<() => void>();
  /** The last connection ended because the VM (or the session) ended. */
  private vmEnded = false;
  /** The VM boot this session last (re)connected for; set by the panel. */
  bootId?: string;
  /** When the console last followed the VM into a new boot by itself. */
  reattachedAt?: Date;
  /** Wanted before xterm has loaded too: init() applies it to the new terminal. */
  screenReaderMode = false;
  private ready: Promise<void>;

  constructor(
    readonly vm: string,
    readonly kind: "serial" | "ssh",
  ) {
    this.element = document.createElement("div");
    this.element.className = "bootc-terminal";
    this.ready = this.init();
  }

  private async init(): Promise<void> {
    const [{ Terminal }, { FitAddon }, { SearchAddon }, { WebLinksAddon }] = await Promise.all([
      import("@xterm/xterm"),
      import("@xterm/addon-fit"),
      import("@xterm/addon-search"),
      import("@xterm/addon-web-links"),
    ]);
    const term = new Terminal({
      cursorBlink: true,
      convertEol: this.kind === "serial",
      scrollback: 5000,
      fontSize: 14,
      allowProposedApi: true,
      screenReaderMode: this.screenReaderMode,
    });
    this.term = term;
    this.fit = new FitAddon();
    this.search = new SearchAddon();
    term.loadAddon(this.fit);
    term.loadAddon(this.search);
    term.loadAddon(new WebLinksAddon());
    term.open(this.element);
    // WebGL on a GPU; xterm's DOM renderer where the GL runs on the CPU (gl-renderer.ts).
    let renderer = terminalRenderer(webglRenderer());
    if (renderer === "webgl") {
      try {
        const { WebglAddon } = await import("@xterm/addon-webgl");
        const webgl = new WebglAddon();
        webgl.onContextLoss(() => webgl.dispose());
        term.loadAddon(webgl);
      } catch {
        renderer = "dom"; // no WebGL after all: xterm's DOM renderer stays
      }
    }
    this.element.dataset.renderer = renderer;
    // Copy and paste that leave Ctrl+C (and Ctrl+V) to the guest.
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== "keydown") return true;
      const copy = (e.ctrlKey && e.shiftKey && e.code === "KeyC") || (e.ctrlKey && e.code === "Insert");
      const paste = (e.ctrlKey && e.shiftKey && e.code === "KeyV") || (e.shiftKey && e.code === "Insert");
      if (copy) {
        void navigator.clipboard?.writeText(term.getSelection());
        return false;
      }
      if (paste) {
        void navigator.clipboard?.readText().then((t) => this.send(t));
        return false;
      }
      return true;
    });
    term.onData((d) => this.send(d));
    term.onResize(({ cols, rows }) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeResize(cols, rows));
    });
    this.connect();
  }

  connect(): void {
    if (!this.term) return;
    const term = this.term;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    this.setState({ kind: "connecting" });
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(
      withSessionKey(`${proto}://${location.host}/api/term/${this.kind}/${encodeURIComponent(this.vm)}?cols=${term.cols}&rows=${term.rows}`),
    );
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let closedReason: string | undefined;
    let ended = false; // this socket was told the VM (or session) ended
    let heard = Date.now();
    let silent = false;
    const watchdog = setInterval(() => {
      if (Date.now() - heard <= HEARTBEAT_DEADLINE_MS) return;
      silent = true;
      ws.close(); // the close event may itself take long on a dead link: report it now
      this.onClosed(ws, false, `no answer from the server for ${Math.round(HEARTBEAT_DEADLINE_MS / 1000)}s`);
    }, 1000);
    ws.onmessage = (ev) => {
      heard = Date.now();
      const frame = decodeServerFrame(new Uint8Array(ev.data as ArrayBuffer));
      if (!frame) return;
      if (frame.type === "output") {
        const n = frame.data.length;
        // Ack only once xterm has taken the bytes in: that is what bounds the server's buffer.
        term.write(frame.data, () => ws.readyState === WebSocket.OPEN && ws.send(encodeAck(n)));
      } else
        this.onControl(frame.control, (r, vmEnded) => {
          closedReason = r;
          ended ||= vmEnded;
        });
    };
    ws.onclose = (ev) => {
      clearInterval(watchdog);
      if (!silent) this.onClosed(ws, ended, closedReason ?? (ev.reason || "the connection was lost"));
    };
  }

  private onClosed(ws: WebSocket, ended: boolean, reason: string): void {
    if (ws !== this.ws) return; // an earlier socket, already replaced
    this.ws = undefined;
    this.setState(ended ? { kind: "ended", reason } : { kind: "dropped", reason });
  }

  private onControl(c: Control, setReason: (r: string, vmEnded: boolean) => void): void {
    if (c.type === "status" && c.state === "connected") this.setState({ kind: "connected" });
    else if (c.type === "replay-start" || c.type === "replay-end") {
      if (this.vmEnded) {
        // The VM stopped and runs again (restart, rebuild): keep the old screen, mark the new boot.
        this.term?.write("\r\n\x1b[7m ── new boot ── \x1b[0m\r\n");
        this.reattachedAt = new Date();
        this.setState(this.state);
      } else if (c.type === "replay-start") {
        this.term?.reset(); // same boot: the replay repeats what the screen has
      }
      this.vmEnded = false;
    } else if (c.type === "exit") {
      this.vmEnded = true;
      setReason(c.reason, true);
      this.term?.write(`\r\n\x1b[2m[${c.reason}]\x1b[0m\r\n`);
    } else if (c.type === "error") setReason(c.message, false);
  }

  send(text: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeInput(new TextEncoder().encode(text)));
  }

  /** Fits the terminal to its panel (and so resizes the remote pty). */
  async fitNow(): Promise<void> {
    await this.ready;
    try {
      this.fit?.fit();
    } catch {
      // not visible yet
    }
  }

  focus(): void {
    this.term?.focus();
  }

  setScreenReaderMode(on: boolean): void {
    // The checkbox may be ticked while xterm is still loading; remember it for init().
    this.screenReaderMode = on;
    if (this.term) this.term.options.screenReaderMode = on;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    for (const l of this.listeners) l();
  }
}

const sessions = new Map<string, ConsoleSession>();

export function consoleSession(vm: string, kind: "serial" | "ssh"): ConsoleSession {
  const key = `${kind}:${vm}`;
  let s = sessions.get(key);
  if (!s) {
    s = new ConsoleSession(vm, kind);
    sessions.set(key, s);
  }
  return s;
}
