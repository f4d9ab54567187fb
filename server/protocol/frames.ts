/**
 * The terminal websocket protocol, shared by the server and the browser. Binary frames,
 * the first byte says what the rest is:
 *   client → server  0x00 input bytes · 0x01 resize (u16 cols, u16 rows) · 0x02 ack (u32 bytes consumed)
 *   server → client  0x10 output bytes · 0x11 control (UTF-8 JSON, see Control)
 * The client acks output once xterm.js has rendered it (term.write callback); the server
 * stops reading its source while too many bytes are unacknowledged. The server sends a
 * heartbeat control every HEARTBEAT_MS; a client that hears nothing for
 * HEARTBEAT_DEADLINE_MS takes the connection for dead (TCP alone may take minutes to say).
 */
export const HEARTBEAT_MS = 10_000;
export const HEARTBEAT_DEADLINE_MS = 25_000;

export const FrameType = {
  Input: 0x00,
  Resize: 0x01,
  Ack: 0x02,
  Output: 0x10,
  Control: 0x11,
} as const;

export type Control =
  | { type: "status"; state: "connecting" | "connected"; detail?: string }
  | { type: "replay-start" }
  | { type: "replay-end" }
  | { type: "exit"; reason: string }
  | { type: "error"; message: string }
  | { type: "heartbeat" };

export type ClientFrame = { type: "input"; data: Uint8Array } | { type: "resize"; cols: number; rows: number } | { type: "ack"; bytes: number };

export type ServerFrame = { type: "output"; data: Uint8Array } | { type: "control"; control: Control };

function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = type;
  out.set(body, 1);
  return out;
}

export const encodeInput = (data: Uint8Array) => frame(FrameType.Input, data);
export const encodeOutput = (data: Uint8Array) => frame(FrameType.Output, data);
export const encodeControl = (c: Control) => frame(FrameType.Control, new TextEncoder().encode(JSON.stringify(c)));

export function encodeResize(cols: number, rows: number): Uint8Array {
  const out = new Uint8Array(5);
  const view = new DataView(out.buffer);
  out[0] = FrameType.Resize;
  view.setUint16(1, cols);
  view.setUint16(3, rows);
  return out;
}

export function encodeAck(bytes: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = FrameType.Ack;
  new DataView(out.buffer).setUint32(1, bytes);
  return out;
}

/** Parses a client frame; undefined for anything malformed (the server drops it). */
export function decodeClientFrame(buf: Uint8Array): ClientFrame | undefined {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  switch (buf[0]) {
    case FrameType.Input:
      return { type: "input", data: buf.subarray(1) };
    case FrameType.Resize: {
      if (buf.length !== 5) return undefined;
      const cols = view.getUint16(1);
      const rows = view.getUint16(3);
      return cols > 0 && rows > 0 && cols <= 1000 && rows <= 1000 ? { type: "resize", cols, rows } : undefined;
    }
    case FrameType.Ack:
      return buf.length === 5 ? { type: "ack", bytes: view.getUint32(1) } : undefined;
    default:
      return undefined;
  }
}

export function decodeServerFrame(buf: Uint8Array): ServerFrame | undefined {
  if (buf[0] === FrameType.Output) return { type: "output", data: buf.subarray(1) };
  if (buf[0] === FrameType.Control) {
    try {
      return { type: "control", control: JSON.parse(new TextDecoder().decode(buf.subarray(1))) as Control };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
