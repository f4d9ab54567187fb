/**
 * The server under hostile load (prints figures; not a test): open file descriptors and
 * RSS of a real `bootc serve --api-only` before and after thousands of unauthenticated
 * websocket upgrades, requests carrying cookies that do not decode, and authenticated API
 * calls — with an idle server's figures as the baseline, measured in the same run.
 *   npx tsx e2e/bench/server-load.ts
 */
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { serve } from "../lib/api.js";
import { makeHome, removeTempDirs } from "../lib/harness.js";

const server = await serve(makeHome(), ["--api-only"]);
const pid = server.process.pid!;
const fds = () => readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;

function request(path: string, headers: Record<string, string>, upgrade = false): Promise<number> {
  return new Promise((resolve) => {
    const extra = upgrade
      ? { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" }
      : {};
    const req = http.request({ host: "127.0.0.1", port: server.port, path, headers: { ...extra, ...headers } });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(-1));
    req.end();
  });
}

async function batch(n: number, fn: (i: number) => Promise<number>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i += 100) {
    for (const code of await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => fn(i + j)))) counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return counts;
}

await new Promise((r) => setTimeout(r, 1000));
const idle = { fds: fds(), rss: rssMiB() };
const t0 = Date.now();
const upgrades = await batch(5000, (i) => request(i % 2 ? "/_next/webpack-hmr" : `/x/${i}`, {}, true));
const cookies = await batch(5000, () => request("/api/trpc/vms.list", { Cookie: "x=%; y=%E0%A4%A" }));
const authed = await batch(1000, () => request("/api/trpc/vms.list", { Cookie: "x=%", Authorization: `Bearer ${server.token}` }));
const secs = (Date.now() - t0) / 1000;
// Idle keep-alive connections close after the server's 5 s keep-alive timeout.
await new Promise((r) => setTimeout(r, 7000));
const after = { fds: fds(), rss: rssMiB() };

const fmt = (m: Map<number, number>) => [...m].map(([code, n]) => `${n}× ${code}`).join(", ");
console.log(`requests: 11000 in ${secs.toFixed(1)} s`);
console.log(`unauthenticated upgrades (5000): ${fmt(upgrades)}`);
console.log(`malformed cookies, no token (5000): ${fmt(cookies)}`);
console.log(`malformed cookies + bearer (1000): ${fmt(authed)}`);
console.log(`server fds: idle ${idle.fds} → after ${after.fds} (${(after.fds / idle.fds).toFixed(2)}× idle)`);
console.log(`server RSS: idle ${idle.rss.toFixed(0)} MiB → after ${after.rss.toFixed(0)} MiB (${(after.rss / idle.rss).toFixed(2)}× idle)`);
console.log(`server still running: ${server.process.exitCode === null}`);
await server.stop();
removeTempDirs();
