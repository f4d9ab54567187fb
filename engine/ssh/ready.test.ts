import { describe, expect, it } from "vitest";
import { waitForSsh } from "./ready.js";

const target = { vmName: "t", port: 1, user: "root", identity: "/nonexistent", knownHosts: "/nonexistent" };
const after = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("waitForSsh", () => {
  it("once the guest's network is up, answers from a fresh probe beside a silent one, without waiting for the silent one to end", async () => {
    const probes: Array<{ started: number; ended?: number }> = [];
    const t0 = Date.now();
    // The first probe went out before the network: silent until the user-mode network gives up (here 1.5 s).
    // A probe made after the network is up is answered at once.
    let networkIsUp = false;
    const probe = async () => {
      const p: { started: number; ended?: number } = { started: Date.now() - t0 };
      probes.push(p);
      const up = networkIsUp;
      await after(up ? 20 : 1500);
      p.ended = Date.now() - t0;
      return up;
    };
    const networkUp = after(200).then(() => void (networkIsUp = true));
    const outcome = await waitForSsh(target, { timeoutMs: 10_000, intervalMs: 50, check: () => "probe", networkUp, probe });
    const readyAt = Date.now() - t0;
    expect(outcome).toBe("ready");
    expect(readyAt).toBeLessThan(1000); // before the silent probe ended
    expect(probes[0]!.ended).toBeUndefined(); // still running its course
    await after(1600);
    expect(probes[0]!.ended).toBeGreaterThanOrEqual(1500);
    expect(probes).toHaveLength(2); // no line went on probing after the answer
  });

  it("after the network is up, probes side by side: one sent before the guest's address was on is silent too, and a later one answers", async () => {
    const t0 = Date.now();
    const probes: Array<{ started: number; ended?: number }> = [];
    let open = 0;
    let most = 0;
    const probe = async () => {
      const p: { started: number; ended?: number } = { started: Date.now() - t0 };
      probes.push(p);
      most = Math.max(most, ++open);
      // Before 350 ms (the network signal comes at 100): silent for 1.5 s. After: answered.
      const answers = p.started >= 350;
      await after(answers ? 20 : 1500);
      p.ended = Date.now() - t0;
      open--;
      return answers;
    };
    const outcome = await waitForSsh(target, { timeoutMs: 10_000, intervalMs: 100, check: () => "probe", networkUp: after(100), probe });
    expect(outcome).toBe("ready");
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(probes.filter((p) => p.started < 350).length).toBeGreaterThanOrEqual(2); // the boot's own and the early fresh ones
    expect(probes.every((p) => p.started >= 350 || p.ended === undefined)).toBe(true); // the answer did not wait for the silent ones
    await after(1600);
    expect(probes.every((p) => p.ended !== undefined)).toBe(true);
    expect(most).toBeLessThanOrEqual(9);
  });

  it("starts no more probes while the guest is answering one: a second login would only cost the guest", async () => {
    let n = 0;
    const probe = async (answering: () => void) => {
      const mine = ++n;
      if (mine === 1) {
        await after(2000); // the first line's, made before the network: silent
        return false;
      }
      await after(30);
      answering(); // sshd's banner: the key exchange and login take a while under TCG
      await after(600);
      return true;
    };
    expect(await waitForSsh(target, { timeoutMs: 10_000, intervalMs: 50, check: () => "probe", networkUp: Promise.resolve(), probe })).toBe("ready");
    expect(n).toBe(2);
  });

  it("without a network signal, probes one at a time, each to its end", async () => {
    let open = 0;
    let most = 0;
    let n = 0;
    const probe = async () => {
      most = Math.max(most, ++open);
      await after(30);
      open--;
      return ++n === 3;
    };
    expect(await waitForSsh(target, { timeoutMs: 10_000, intervalMs: 10, check: () => "probe", probe })).toBe("ready");
    expect(most).toBe(1);
    expect(n).toBe(3);
  });

  it("a probe that throws is a probe unanswered; the side line stops starting probes once the wait is decided", async () => {
    let n = 0;
    const probe = async () => {
      n++;
      await after(20);
      if (n < 3) throw new Error("connection reset");
      return true;
    };
    expect(await waitForSsh(target, { timeoutMs: 10_000, intervalMs: 30, check: () => "probe", networkUp: Promise.resolve(), probe })).toBe("ready");
    const started = n;
    await after(200);
    expect(n).toBe(started);
  });

  it("a stop decides for both lines, and the deadline is shared", async () => {
    let stopping = false;
    const probe = async () => {
      await after(30);
      return false;
    };
    setTimeout(() => (stopping = true), 150);
    const stopped = await waitForSsh(target, {
      timeoutMs: 10_000,
      intervalMs: 10,
      check: () => (stopping ? "stop" : "probe"),
      networkUp: Promise.resolve(),
      probe,
    });
    expect(stopped).toBe("stopped");
    const t0 = Date.now();
    expect(await waitForSsh(target, { timeoutMs: 200, intervalMs: 10, check: () => "probe", networkUp: after(50), probe })).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
