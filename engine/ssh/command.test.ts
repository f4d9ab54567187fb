import net from "node:net";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { remoteCommand, sshArgv } from "./command.js";

describe("remoteCommand", () => {
  it("passes a single argument through as a shell command line", () => {
    expect(remoteCommand(["ls | wc -l"])).toBe("ls | wc -l");
  });

  it("quotes several arguments so the remote shell sees the same argv", async () => {
    const argv = ["printf", "%s|", "a b", "it's", "$HOME", ""];
    const line = remoteCommand(argv);
    const r = await execa("sh", ["-c", line]);
    expect(r.stdout).toBe("a b|it's|$HOME||");
  });
});

describe("sshArgv", () => {
  it("gives up on a port that accepts and never sends sshd's banner, instead of hanging", async () => {
    // What passt does with a connection the rebooting guest took and then lost: accept, then silence.
    const held: net.Socket[] = [];
    const server = net.createServer((s) => void held.push(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const t = { vmName: "t", port, user: "root", identity: "/dev/null", knownHosts: "/dev/null" };
      const { file, args } = sshArgv(t, { remote: "true", connectTimeoutSec: 2 });
      const r = await execa(file, ["-F", "/dev/null", ...args], { reject: false, timeout: 20_000 });
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(255);
      expect(r.stderr).toMatch(/timed out/i);
    } finally {
      held.forEach((s) => s.destroy());
      server.close();
    }
  });
});
