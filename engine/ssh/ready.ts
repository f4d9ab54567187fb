/**
 * "Ready" means a real SSH round trip: the wait every runtime uses after a boot. Its first
 * success pins the guest's host key (learn), so every later connection checks it.
 *
 * The guest's SSH port is forwarded by passt (or qemu's user network), which accepts the
 * host side of a connection at once and hands it to the guest with a single SYN. One sent
 * before the guest's network is up is lost, and that connection then says nothing until
 * the probe's own timeout (passt gives up on it after 10 s). Waiting for such a probe cost
 * a boot 5 s on average between sshd listening and the first answer. So while every probe
 * still open has heard nothing from the guest, the next one starts on time beside them;
 * a probe the guest did answer is waited for (a slow sshd is not hurried by more sessions).
 * Silence may also be an sshd slow to send its banner, so at most three probes are open:
 * the oldest runs to its timeout, and a new one replaces the second oldest.
 */
import type { Socket } from "node:net";
import { sshExec, type SshTarget } from "./exec.js";

export type ReadyCheck = "probe" | "wait" | "stop";

/** Each probe's own limit: an answered connection gets this long to run `true`. */
const PROBE_TIMEOUT_MS = 10_000;
/** Probes open at once, all silent (sshd's MaxStartups starts refusing beyond 10). */
const MAX_OPEN = 3;

interface Probe {
  /** Its connection to the forwarded port, once made (none through a tunnel). */
  socket?: Socket;
  stop: AbortController;
}

/** Nothing has come back on the probe's connection yet. A tunnelled probe counts as answered: those run one at a time, as before. */
const silent = (p: Probe) => p.socket !== undefined && p.socket.bytesRead === 0;

/**
 * Probes SSH until it answers ("ready"), `check` says to give up ("stopped": the VM is
 * ending) or `timeoutMs` passes ("timeout"; a probe the guest is answering then still gets
 * its own time). `check` runs before each probe: "wait" skips the probe (the guest is not
 * running yet); it may also throw (the boot failed).
 */
export async function waitForSsh(
  target: SshTarget,
  o: { timeoutMs: number; intervalMs?: number; check: () => Promise<ReadyCheck> | ReadyCheck },
): Promise<"ready" | "stopped" | "timeout"> {
  const intervalMs = o.intervalMs ?? 1000;
  const deadline = Date.now() + o.timeoutMs;
  const open = new Set<Probe>(); // in the order they started
  let answered = false;
  let wake = () => {};
  const probe = () => {
    const p: Probe = { stop: new AbortController() };
    open.add(p);
    void sshExec(target, "true", { learn: true, timeoutMs: PROBE_TIMEOUT_MS, signal: p.stop.signal, onSocket: (s) => (p.socket = s) })
      .then(
        (r) => {
          if (r.code !== 0) return;
          answered = true;
          wake();
        },
        () => undefined,
      )
      .finally(() => open.delete(p));
  };
  try {
    for (;;) {
      const now = await o.check();
      if (now === "stop") return "stopped";
      // An answer that comes while the VM is being stopped does not make it ready (checked above).
      if (answered) return "ready";
      const late = Date.now() >= deadline;
      if (late && [...open].every(silent)) return "timeout";
      if (!late && now === "probe" && [...open].every(silent)) {
        if (open.size >= MAX_OPEN) [...open][1]!.stop.abort();
        probe();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, late ? intervalMs : Math.min(intervalMs, deadline - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    for (const p of open) p.stop.abort();
  }
}
