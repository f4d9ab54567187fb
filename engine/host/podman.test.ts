import { describe, expect, it } from "vitest";
import { connectionFromEnv } from "../core/podman-connection.js";
import { podmanCommand, podmanConnectionArgs, remotePodmanError } from "./podman.js";

describe("podmanConnectionArgs", () => {
  it("makes podman's global flags for each way of naming another podman", () => {
    expect(podmanConnectionArgs(undefined)).toEqual([]);
    expect(podmanConnectionArgs({ connection: "machine-1" })).toEqual(["--connection", "machine-1"]);
    expect(podmanConnectionArgs({ remote: true })).toEqual(["--remote"]);
    expect(podmanConnectionArgs({ url: "ssh://u@127.0.0.1:2222/run/user/1002/podman/podman.sock" })).toEqual([
      "--url",
      "ssh://u@127.0.0.1:2222/run/user/1002/podman/podman.sock",
    ]);
    expect(podmanConnectionArgs({ url: "unix:///run/podman/podman.sock", identity: "/k/id" })).toEqual([
      "--url",
      "unix:///run/podman/podman.sock",
      "--identity",
      "/k/id",
    ]);
  });

  it("refuses a name podman could read as a flag, a URL of another scheme, a relative key, and two ways at once", () => {
    expect(() => podmanConnectionArgs({ connection: "--url=x" })).toThrow(/not a podman connection name/);
    expect(() => podmanConnectionArgs({ connection: "" })).toThrow(/not a podman connection name/);
    expect(() => podmanConnectionArgs({ url: "http://x/y" })).toThrow(/not a podman URL/);
    expect(() => podmanConnectionArgs({ url: "ssh://u@h/s\nx" })).toThrow(/not a podman URL/);
    expect(() => podmanConnectionArgs({ url: "ssh://u@h/s", identity: "key" })).toThrow(/absolute/);
    expect(() => podmanConnectionArgs({ connection: "a", remote: true } as never)).toThrow(/name one podman/);
  });

  it("drops podman's own connection variables from a call on an explicit connection, and keeps them otherwise", () => {
    const env = { PATH: process.env.PATH, CONTAINER_HOST: "ssh://a@b/c", CONTAINER_SSHKEY: "/k", HOME: "/h" };
    const on = podmanCommand(["images"], { connection: "m" }, { env });
    expect(on.args).toEqual(["--connection", "m", "images"]);
    expect(on.options.extendEnv).toBe(false);
    expect(on.options.env).toEqual({ PATH: process.env.PATH, HOME: "/h" });
    expect(podmanCommand(["images"], undefined, { env }).options.env).toEqual(env);
  });
});

describe("connectionFromEnv", () => {
  it("reads CONTAINER_HOST and CONTAINER_SSHKEY as podman does", () => {
    expect(connectionFromEnv({})).toBeUndefined();
    expect(connectionFromEnv({ CONTAINER_HOST: "ssh://u@h:22/s" })).toEqual({ url: "ssh://u@h:22/s" });
    expect(connectionFromEnv({ CONTAINER_HOST: "ssh://u@h:22/s", CONTAINER_SSHKEY: "/k" })).toEqual({ url: "ssh://u@h:22/s", identity: "/k" });
  });
});

describe("remotePodmanError", () => {
  const c = { url: "ssh://u@127.0.0.1:1/run/user/1/podman/podman.sock" };
  // podman 4.3's own words, as the e2e test meets them.
  it("says in one sentence what kept podman from reaching the other podman", () => {
    expect(remotePodmanError("Error: failed to connect: dial tcp 127.0.0.1:1: connect: connection refused", c)?.message).toBe(
      "the podman at ssh://u@127.0.0.1:1/run/user/1/podman/podman.sock refused the connection (nothing listens there)",
    );
    expect(
      remotePodmanError(
        'Cannot connect to Podman. …\nError: unable to connect to Podman socket: Get "http://d/v4.3.1/libpod/_ping": ssh: rejected: connect failed (open failed)',
        c,
      )?.message,
    ).toMatch(/has no podman socket there/);
    expect(remotePodmanError('Error: failed to resolve active destination: "nope" service destination not found', { connection: "nope" })?.message).toBe(
      'there is no podman connection named "nope"',
    );
    expect(remotePodmanError('Error: failed to read identity "/nonexistent/key": open /nonexistent/key: no such file or directory', c)?.message).toBe(
      "the SSH key /nonexistent/key for the podman at ssh://u@127.0.0.1:1/run/user/1/podman/podman.sock cannot be read (no such file or directory)",
    );
    expect(remotePodmanError("Error: inspecting object: image not known", c)).toBeUndefined();
  });
});
