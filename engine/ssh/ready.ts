/**
 * "Ready" means a real SSH round trip: the wait every runtime uses after a boot. Its first
 * success pins the guest's host key (learn), so every later connection checks it.
 */
import { pollUntil } from "../core/poll.js";
import { sshExec, type SshTarget } from "./exec.js";

export type ReadyCheck = "probe" | "wait" | "stop";

/**
 * Probes SSH until it answers ("ready"), `check` says to give up ("stopped": the VM is
 * ending) or `timeoutMs` passes ("timeout"). `check` runs before each probe: "wait" skips
 * the probe (the guest is not running yet); it may also throw (the boot failed).
 *
 * Probes go one at a time, each to its own end: a probe made before the guest's network is
 * up can sit silent until the user-mode network gives up on it (passt: 10 s), and closing
 * it first sets Debian 12's passt spinning (passt-log.ts). `networkUp` (the guest's DHCP
 * ack, when the runtime can see it) starts a second line at that moment: a probe every
 * `intervalMs` beside those still open (at most SIDE_BY_SIDE), since one sent while the
 * guest is still putting its address on can be silent too; none is ended early, each runs
 * to its own end. None is started while the guest is answering one (its first byte came):
 * under TCG a login costs the guest a second of CPU. The first answer on either line is the
 * answer. Without `networkUp`, the wait is the one line.
 */
export async function waitForSsh(
  target: SshTarget,
  o: {
    timeoutMs: number;
    intervalMs?: number;
    check: () => Promise<ReadyCheck> | ReadyCheck;
    networkUp?: Promise<void>;
    /**
     * One probe: true when SSH answered. `answering` is called when the guest starts to answer
     * (its first byte). The default runs `true` over SSH, learning the host key.
     */
    probe?: (answering: () => void) => Promise<boolean>;
  },
): Promise<"ready" | "stopped" | "timeout"> {
  const probe =
    o.probe ??
    ((answering: () => void) =>
      sshExec(target, "true", { learn: true, timeoutMs: PROBE_TIMEOUT_MS, onAnswer: answering }).then(
        (r) => r.code === 0,
        () => false,
      ));
  const intervalMs = o.intervalMs ?? 1000;
  const deadline = Date.now() + o.timeoutMs;
  let decided = false;
  // An answer that comes while the VM is being stopped does not make it ready.
  const answer = async () => ((await o.check()) === "stop" ? ("stopped" as const) : ("ready" as const));

  const oneAtATime = () =>
    pollUntil(
      async () => {
        if (decided) return "decided" as const;
        const now = await o.check();
        if (now === "stop") return "stopped" as const;
        if (now === "wait") return undefined;
        const answered = await probe(() => undefined).catch(() => false);
        // The other line answered meanwhile: this probe's own answer changes nothing.
        if (decided) return "decided" as const;
        return answered ? answer() : undefined;
      },
      { timeoutMs: Math.max(0, deadline - Date.now()), intervalMs },
    );

  const sideBySide = async () => {
    let open = 0;
    // Probes the guest has begun to answer: while one is, a new probe would only be a second login to pay for.
    let answering = 0;
    let answered = false;
    let wake = () => {};
    while (!decided && Date.now() < deadline) {
      const now = await o.check();
      if (now === "stop") return "stopped" as const;
      if (answered) return answer();
      if (now === "probe" && open < SIDE_BY_SIDE && answering === 0) {
        open++;
        let heard = false;
        void probe(() => {
          heard = true;
          answering++;
        })
          .catch(() => false)
          .then((ok) => {
            open--;
            if (heard) answering--;
            if (ok) {
              answered = true;
              wake();
            }
          });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now())));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return decided ? ("decided" as const) : answered ? answer() : undefined;
  };

  // The side line decides only with an answer or a stop; the deadline is the first line's to
  // call, since a probe of its own may be answering right then.
  const sideAnswer = o.networkUp?.then(async () => {
    const outcome = decided ? undefined : await sideBySide();
    return outcome === "ready" || outcome === "stopped" ? outcome : new Promise<never>(() => undefined);
  });
  try {
    const outcome = await Promise.race([oneAtATime(), ...(sideAnswer ? [sideAnswer] : [])]);
    return outcome === "decided" || outcome === undefined ? "timeout" : outcome;
  } finally {
    decided = true;
  }
}

/**
 * How long a probe may take, connection to answer. Longer than passt takes to give up on a
 * connection the guest never answered (10 s), so that passt, not the probe, ends such a one.
 */
const PROBE_TIMEOUT_MS = 15_000;

/** Probes open at once on the second line: fewer than the ten a second apart that the 10 s of a silent one would allow. */
const SIDE_BY_SIDE = 8;
