import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { remoteCommand } from "./command.js";

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
