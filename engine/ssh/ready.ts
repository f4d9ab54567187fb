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
 */
export async function waitForSsh(
  target: SshTarget,
  o: { timeoutMs: number; intervalMs?: number; check: () => Promise<ReadyCheck> | ReadyCheck },
): Promise<"ready" | "stopped" | "timeout"> {
  const outcome = await pollUntil(
    async () => {
      const now = await o.check();
      if (now === "stop") return "stopped" as const;
      if (now === "wait") return undefined;
      const answered = await sshExec(target, "true", { learn: true, timeoutMs: 10_000 }).then(
        (r) => r.code === 0,
        () => false,
      );
      // An answer that comes while the VM is being stopped does not make it ready.
      if (answered) return (await o.check()) === "stop" ? ("stopped" as const) : ("ready" as const);
      return undefined;
    },
    { timeoutMs: o.timeoutMs, intervalMs: o.intervalMs ?? 1000 },
  );
  return outcome ?? "timeout";
}
