/** Talking to a VM's monitor over its unix socket (see protocol.ts). */
import net from "node:net";
import { BootcError } from "../../core/errors.js";
import { vmPaths, type EnginePaths } from "../../core/paths.js";
import type { ConsoleAttachment, VmEvent } from "../../core/vm.js";
import type { ConsoleHeader, MonitorRequest, SnapshotReply, SoftRebootReply, StopReply } from "./protocol.js";

export function connectMonitor(name: string, req: MonitorRequest, paths?: EnginePaths): Promise<net.Socket> {
  const sockPath = vmPaths(name, paths).monitorSock;
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(sockPath, () => {
      sock.off("error", reject);
      sock.write(JSON.stringify(req) + "\n");
      resolve(sock);
    });
    sock.once("error", (e) =>
      reject(
        new BootcError("MONITOR_UNREACHABLE", `cannot reach the monitor of VM "${name}": ${e.message}`, `is it running? see \`bootc list\``, { cause: e }),
      ),
    );
  });
}

/** Calls `onEvent` for each event until the monitor closes the stream; returns a closer. */
export async function watchEvents(name: string, onEvent: (e: VmEvent) => void, paths?: EnginePaths): Promise<{ close: () => void; closed: Promise<void> }> {
  const sock = await connectMonitor(name, { op: "events" }, paths);
  let buf = "";
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onEvent(JSON.parse(line) as VmEvent);
    }
  });
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  return { close: () => sock.destroy(), closed };
}

export interface StopRequest {
  force: boolean;
  timeoutSec: number;
  /** The VM is stopped to boot again at once (restart, rebuild): viewers wait for it. */
  reboot?: boolean;
}

const STOP_REPLY_GRACE_SEC = 30;

export async function requestStop(name: string, req: StopRequest, paths?: EnginePaths, graceSec = STOP_REPLY_GRACE_SEC): Promise<StopReply> {
  // The monitor answers once qemu is gone: the guest's own timeout plus time to clean up.
  // A monitor that never answers must not hang the caller.
  const waitSec = (req.timeoutSec ?? 60) + graceSec;
  return (
    (await askOnce<StopReply>(name, { op: "stop", ...req }, waitSec, paths)) ?? { ok: false, error: `the monitor did not confirm the stop within ${waitSec}s` }
  );
}

/**
 * Sends one request and reads the monitor's one-line answer, which it gives when the work
 * is done and then closes; undefined when it did not answer within `waitSec`.
 */
async function askOnce<T>(name: string, request: MonitorRequest, waitSec: number, paths?: EnginePaths): Promise<T | undefined> {
  const sock = await connectMonitor(name, request, paths);
  let text = "";
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => (text += d));
  const timer = setTimeout(() => sock.destroy(), waitSec * 1000);
  await new Promise<void>((resolve) => sock.once("close", () => resolve()));
  clearTimeout(timer);
  const line = text.trim().split("\n")[0];
  return line ? (JSON.parse(line) as T) : undefined;
}

/** Asks the monitor to soft-reboot into `image`; answers once the new root answers SSH, or says why it did nothing. */
export async function requestSoftReboot(
  name: string,
  req: { image: { ref: string; id: string }; timelinePrefix?: Array<{ event: string; at: string }> },
  waitSec: number,
  paths?: EnginePaths,
): Promise<SoftRebootReply> {
  return (
    (await askOnce<SoftRebootReply>(name, { op: "soft-reboot", ...req }, waitSec, paths)) ?? {
      ok: false,
      error: `the monitor did not answer the soft reboot within ${waitSec}s`,
    }
  );
}

/** Asks the monitor to save, load or delete a snapshot; answers once qemu's job has finished. */
export async function requestSnapshot(
  name: string,
  action: "save" | "load" | "delete",
  tag: string,
  waitSec: number,
  paths?: EnginePaths,
): Promise<SnapshotReply> {
  return (
    (await askOnce<SnapshotReply>(name, { op: "snapshot", action, tag }, waitSec, paths)) ?? {
      ok: false,
      error: `the monitor did not answer within ${waitSec}s`,
    }
  );
}

/** Attaches to the serial console: reads the header line, leaves the stream at the first byte of output. */
export async function attachConsole(name: string, paths?: EnginePaths): Promise<ConsoleAttachment> {
  const socket = await connectMonitor(name, { op: "console" }, paths);
  const header = await new Promise<ConsoleHeader>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.pause();
      const rest = buf.subarray(nl + 1);
      if (rest.length) socket.unshift(rest);
      try {
        resolve(JSON.parse(buf.subarray(0, nl).toString()) as ConsoleHeader);
      } catch (e) {
        reject(e);
      }
    };
    const onClose = () => reject(new BootcError("MONITOR_UNREACHABLE", `the monitor of VM "${name}" closed the console`));
    socket.on("data", onData);
    socket.once("close", onClose);
  });
  if (header.error) {
    socket.destroy();
    throw new BootcError("VM_NOT_RUNNING", `VM "${name}": ${header.error}`, "wait a moment and try again");
  }
  return { socket, replayBytes: header.replayBytes };
}
