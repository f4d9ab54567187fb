/**
 * Serial console over a websocket: one monitor console stream per viewer (the monitor
 * fans the console out, so all viewers see the same bytes); the replayed history is
 * marked with replay-start / replay-end controls.
 */
import type { Engine } from "../../engine/vm/manager.js";
import { isBootcError } from "../../engine/core/errors.js";
import { ACTIVE_STATES } from "../../engine/core/record.js";
import type { TerminalConnection } from "./connection.js";

/** Why a console ended, in the words the viewer shows: "VM web stopped: stopped by the user". */
const vmEnded = (name: string, state: string, reason?: string) => `VM ${name} ${state}${reason ? `: ${reason}` : ""}`;

export async function serveSerial(conn: TerminalConnection, engine: Engine, name: string): Promise<void> {
  conn.control({ type: "status", state: "connecting" });
  let attachment;
  try {
    attachment = await engine.console(name);
  } catch (e) {
    // A VM that is not running is not an error of the connection: say what the VM did.
    const vm = await engine.getVm(name).catch(() => undefined);
    if (vm && !ACTIVE_STATES.includes(vm.effectiveState)) return conn.finish(vmEnded(name, vm.effectiveState, vm.reason));
    return conn.fail(isBootcError(e) && e.code !== "MONITOR_UNREACHABLE" ? e.message : `cannot attach to ${name}'s console: its monitor does not answer`);
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
      (vm) => conn.finish(vmEnded(name, vm.effectiveState, vm.reason)),
      () => conn.finish(`VM ${name} is gone`),
    );
  });
  socket.resume();
}
