/**
 * Pulling images that are not local, against a registry this file starts on loopback (the
 * machines this runs on reach no outside registry): `bootc run` pulls with a progress line
^ * that moves, then boots; --pull=never and an image the registry lacks fail clearly; the web
 * console's pull job reports its percentage.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, client, serve } from "./lib/api.js";
import { bootc, DEMO_IMAGE, freePort, makeHome, processesUsing, tempDir, watchImageMounts } from "./lib/harness.js";
import { insecureRegistriesConf, startRegistry, type Registry } from "./lib/registry.js";

const home = makeHome();
const mounts = await watchImageMounts("pull.e2e.ts");
const vmDirs = () => (existsSync(path.join(home, "state/vms")) ? readdirSync(path.join(home, "state/vms")) : []);
let registry: Registry | undefined;
let slowLink: net.Server | undefined;
/** The image as pulled: through a link that carries 6 MB/s, as a real network would (loopback is too fast for podman to report progress). */
let REF = "";
let PORT = 0;

/** A TCP forwarder to `port` that passes at most `bytesPerSec` towards the client. */
async function throttledForwarder(port: number, bytesPerSec: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    client.pipe(upstream);
    let budget = 0;
    let windowStart = Date.now();
    upstream.on("data", (chunk: Buffer) => {
      const now = Date.now();
      if (now - windowStart >= 100) [budget, windowStart] = [0, now];
      budget += chunk.length;
      client.write(chunk);
      if (budget > bytesPerSec / 10) {
        upstream.pause();
        setTimeout(() => upstream.resume(), 100 - (now - windowStart));
      }
    });
    upstream.on("end", () => client.end());
    for (const s of [client, upstream]) s.on("error", () => (client.destroy(), upstream.destroy()));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

const exists = async (ref: string) => (await execa("podman", ["image", "exists", ref], { reject: false })).exitCode === 0;
/** Leaves the pushed image only in the registry: the local tag and its own layer go. */
const forget = () => execa("podman", ["rmi", REF], { reject: false });

beforeAll(async () => {
  const dir = tempDir("bce-registry-");
  PORT = await freePort();
  registry = await startRegistry(PORT);
  slowLink = await throttledForwarder(PORT, 6_000_000);
  const slowPort = (slowLink.address() as net.AddressInfo).port;
  // This registry speaks plain HTTP on loopback: podman (and so bootc) must be told so.
  writeFileSync(path.join(dir, "registries.conf"), insecureRegistriesConf(["127.0.0.1:" + PORT, "127.0.0.1:" + slowPort]));
  process.env.CONTAINERS_REGISTRIES_CONF = path.join(dir, "registries.conf");

  // An image with a layer of its own (16 MiB that does not compress), so a pull has bytes
  // to download and report; its base layers are the demo image's, already here.
  const ctx = tempDir("bce-pull-ctx-");
  writeFileSync(path.join(ctx, "payload"), randomBytes(16 * 1024 * 1024));
  writeFileSync(path.join(ctx, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY payload /usr/share/bootc-pull-payload\n`);
  // Pushed straight to the registry, pulled through the slow link: one repository, two names.
  const pushRef = `127.0.0.1:${PORT}/bootc-pull-e2e:1`;
  REF = `127.0.0.1:${slowPort}/bootc-pull-e2e:1`;
  const built = await execa("podman", ["build", "-q", "-t", pushRef, ctx], { reject: false, all: true });
  expect(built.exitCode, String(built.all)).toBe(0);
  const pushed = await execa("podman", ["push", "-q", "--tls-verify=false", pushRef], { reject: false, all: true });
  expect(pushed.exitCode, String(pushed.all)).toBe(0);
  await execa("podman", ["rmi", pushRef], { reject: false });
  expect(await exists(REF)).toBe(false);
});

afterAll(async () => {
  await bootc(home, ["rm", "--force", "pulled"]);
  await forget();
  slowLink?.close();
  await registry?.stop();
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe("pulling an image that is not local", () => {
  it("--pull=never refuses an absent image, saying how to get it, and writes nothing", async () => {
    const r = await bootc(home, ["run", "--pull=never", REF]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain(`image "${REF}" is not in local storage`);
    expect(String(r.stderr)).toMatch(/hint: pull it \(drop --pull=never/);
    expect(vmDirs()).toEqual([]);
  });

  it("an image the registry does not have: one sentence, nothing written", async () => {
    const r = await bootc(home, ["run", `127.0.0.1:${PORT}/no-such-image:1`]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain(`the registry has no image 127.0.0.1:${PORT}/no-such-image:1`);
    expect(String(r.stderr)).not.toMatch(/\n\s+at /);
    expect(vmDirs()).toEqual([]);
  });

  it("`bootc run` pulls it with progress, then boots it", async () => {
    const r = await bootc(home, ["run", "--name", "pulled", "--memory", "1G", REF]);
    expect(r.exitCode, String(r.all)).toBe(0);
    const err = String(r.stderr);
    expect(err).toContain(`Pulling ${REF}`);
    // The progress line moved: layers counted, bytes of the new layer reported.
    expect(err).toMatch(/\d+\/\d+ layers \[[# ]+\] \d+% \(\d+\/\d+ MiB\)/);
    expect(err.indexOf("Pulling")).toBeLessThan(err.indexOf("Booting pulled"));
    expect(await exists(REF)).toBe(true);
    const ssh = await bootc(home, ["ssh", "pulled", "--", "stat", "-c", "%s", "/usr/share/bootc-pull-payload"]);
    expect(String(ssh.stdout).trim()).toBe(String(16 * 1024 * 1024));
    expect((await bootc(home, ["rm", "--force", "pulled"])).exitCode).toBe(0);
  });

  it("the web console's pull job reports a percentage that moves up to 100", async () => {
    await forget();
    const server = await serve(home);
    try {
      const job = await client(server).images.pull.mutate({ ref: REF });
      const percents: number[] = [];
      let outcome: { ok: boolean; error?: string } | undefined;
      await api(server).subscribe<{ type: string; percent?: number; ok?: boolean; error?: string }>("jobs.follow", { id: job.id }, (e) => {
        if (e.type === "progress") percents.push(e.percent!);
        if (e.type === "done") outcome = { ok: !!e.ok, error: e.error };
        return e.type === "done";
      });
      expect(outcome).toEqual({ ok: true, error: undefined });
      expect(percents.length).toBeGreaterThanOrEqual(2);
      expect(percents.at(-1)).toBe(100);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents); // it only moves forward
      expect(await exists(REF)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
