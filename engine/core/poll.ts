/** The one "try until it works or the deadline passes" loop of the engine. */
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Calls `attempt` until it returns a value other than undefined, every `intervalMs`, for at
 * most `timeoutMs`; returns that value, or undefined once the time is up. An attempt that
 * throws ends the wait with that error.
 */
export async function pollUntil<T>(
  attempt: () => Promise<T | undefined> | T | undefined,
  o: { timeoutMs: number; intervalMs: number },
): Promise<T | undefined> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() + o.intervalMs > deadline) return undefined;
    await sleep(o.intervalMs);
  }
}
