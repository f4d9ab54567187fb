import { mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { vmPaths } from "../../core/paths.js";
import { requestStop } from "./client.js";

describe("requestStop", () => {
  it("gives up on a monitor that takes the request and never answers, instead of hanging", async () => {
    const root = tempDir("bce-client-");
    const paths = { state: path.join(root, "s"), cache: path.join(root, "c"), runtime: path.join(root, "r") };
    const sock = vmPaths("mute", paths).monitorSock;
    mkdirSync(path.dirname(sock), { recursive: true });
    const held: net.Socket[] = [];
    const server = net.createServer((c) => void held.push(c)).listen(sock);
    await new Promise((r) => server.once("listening", r));
    try {
      const started = Date.now();
      const reply = await requestStop("mute", { force: true, timeoutSec: 0 }, paths, 0.5);
      expect(reply).toEqual({ ok: false, error: "the monitor did not confirm the stop within 0.5s" });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const c of held) c.destroy();
      server.close();
    }
  });
});
