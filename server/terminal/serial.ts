/**
 * Serial console over a websocket: one monitor console stream per viewer (the monitor
 * fans the console out, so all viewers see the same bytes); the replayed history is
 * marked with replay-start / replay-end controls.
 */
import type { Engine } from "../../engine/vm/manager.js";
import { isBootcError } from "../../engine/errors.js";
import type { TerminalConnection } from "./connection.js";

export async function serveSerial(conn: TerminalConnection, engine: Engine, name: string): Promise<void> {
  conn.control({ type: "status", state: "connecting" });
  let attachment;
  try {
    attachment = await engine.console(name);
  } catch (e) {
    return conn.fail(isBootcError(e) ? e.message : `cannot attach to ${name}'s console`);
  }
  const { socket } = attachment;
  let replay = attachment.replayBytes;
  conn.attach({
    write: (d) => socket.write(d),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    close: () => socket.destroy(),
  });
  if (conn.closed) return;
  conn.control({ type: "status", state: "connected" });
  if (replay > 0) conn.control({ type: "replay-start" });
  else conn.control({ type: "replay-end" });
  socket.on("data", (d: Buffer) => {
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    if (replay > 0) {
      const history = bytes.subarray(0, replay);
      conn.output(history);
      replay -= history.length;
      if (replay === 0) conn.control({ type: "replay-end" });
      if (history.length < bytes.length) conn.output(bytes.subarray(history.length));
    } else {
      conn.output(bytes);
    }
  });
  socket.on("close", () => {
    if (conn.closed) return;
    void engine.getVm(name).then(
      (vm) => conn.finish(`VM ${name} ${vm.effectiveState}${vm.reason ? `: ${vm.reason}` : ""}`),
      () => conn.finish(`VM ${name} is gone`),
    );
  });
  socket.resume();
}
