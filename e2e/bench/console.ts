/**
 * Console benchmark (prints figures; not a test): throughput and keystroke round-trip
 * latency through bootc-console's websocket path (browser protocol → server → ssh2 → guest
 * sshd and back), next to a raw `ws` echo server measured in the same run.
 *   npx tsx e2e/bench/console.ts
 * Under TCG the guest's CPU limits the SSH figures; the raw baseline shows the ceiling of
 * the websocket layer itself.
 */
import { rmSync } from "node:fs";
import { WebSocketServer, WebSocket } from "ws";
import { api, serve, Terminal } from "../lib/api.js";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function rawBaseline(): Promise<{ mbps: number; rttMs: number }> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  wss.on("connection", (ws) => ws.on("message", (d: Buffer) => ws.send(d)));
  await new Promise((r) => wss.once("listening", r));
  const port = (wss.address() as { port: number }).port;
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((r) => ws.once("open", r));
  const total = 64 * 1024 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 120);
  let got = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    ws.on("message", (d: Buffer) => {
      got += d.length;
      if (got >= total) resolve();
    });
    for (let sent = 0; sent < total; sent += chunk.length) ws.send(chunk);
  });
  const mbps = total / 1e6 / ((performance.now() - t0) / 1000);
  ws.removeAllListeners("message");
  const rtts: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await new Promise<void>((resolve) => {
      ws.once("message", () => resolve());
      ws.send(Buffer.from("a"));
    });
    rtts.push(performance.now() - t);
  }
  ws.close();
  wss.close();
  return { mbps, rttMs: median(rtts) };
}

async function bootcPath(): Promise<{ mbps: number; rttMs: number }> {
  const home = makeHome();
  const server = await serve(home, ["--api-only"]);
  const client = api(server);
  try {
    await client.mutate("vms.run", { image: DEMO_IMAGE, name: "bench", memoryMiB: 2048 });
    await client.subscribe<{ type: string; state?: string }>("vms.watch", { name: "bench" }, (e) => e.type === "state" && e.state === "ssh-ready");
    const ssh = await Terminal.open(server, "/api/term/ssh/bench");
    await ssh.waitFor(/[#$] $/m, 60_000);
    const bytes = 20_000_000;
    const start = ssh.output.length;
    const t0 = performance.now();
    ssh.send(`head -c ${bytes} /dev/zero | tr '\\0' x; echo; echo DONE\n`);
    await ssh.waitFor(/^DONE\r?$/m, 600_000);
    const mbps = (ssh.output.length - start) / 1e6 / ((performance.now() - t0) / 1000);
    const rtts: number[] = [];
    for (let i = 0; i < 50; i++) {
      const before = ssh.output.length;
      const t = performance.now();
      ssh.send("a");
      while (ssh.output.length === before) await new Promise((r) => setImmediate(r));
      rtts.push(performance.now() - t);
    }
    ssh.send("\x15"); // Ctrl+U: drop the typed a's
    ssh.close();
    return { mbps, rttMs: median(rtts) };
  } finally {
    await client.mutate("vms.remove", { name: "bench", force: true }).catch(() => undefined);
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

const raw = await rawBaseline();
console.log(`raw ws echo (baseline): ${raw.mbps.toFixed(0)} MB/s, round trip ${raw.rttMs.toFixed(2)} ms (median of 200)`);
const ours = await bootcPath();
console.log(
  `bootc SSH console path: ${ours.mbps.toFixed(1)} MB/s, keystroke round trip ${ours.rttMs.toFixed(1)} ms (median of 50; guest under ${process.env.BOOTC_ACCEL ?? "detected accel"})`,
);
