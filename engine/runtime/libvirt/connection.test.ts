import { describe, expect, it } from "vitest";
import { parseConnection, sshConfig } from "./connection.js";
import { stateOf } from "./vms.js";

describe("parseConnection", () => {
  it("takes this host's system and session instances", () => {
    expect(parseConnection("qemu:///system")).toMatchObject({ local: true, instance: "system", label: "libvirt" });
    expect(parseConnection("qemu:///session")).toMatchObject({ local: true, instance: "session" });
  });

  it("takes a remote host over SSH with libvirt's own parameters", () => {
    const c = parseConnection("qemu+ssh://me@big.example:2222/system?keyfile=/home/me/.ssh/id_ed25519&no_verify=1");
    expect(c).toMatchObject({
      local: false,
      label: "me@big.example:2222",
      ssh: { host: "big.example", port: 2222, user: "me", keyfile: "/home/me/.ssh/id_ed25519", noVerify: true },
    });
    expect(sshConfig(c)).toContain("  IdentityFile /home/me/.ssh/id_ed25519\n  IdentitiesOnly yes\n");
    expect(sshConfig(c)).toContain("  StrictHostKeyChecking no\n");
    expect(sshConfig(parseConnection("qemu+ssh://big/system"))).not.toContain("StrictHostKeyChecking");
  });

  it.each([
    ["xen:///system", /the xen driver/],
    ["qemu+tcp://h/system", /the qemu\+tcp driver or transport is not supported/],
    ["qemu:///embed", /the path must be \/system or \/session/],
    ["qemu+ssh://h/system?command=/bin/sh", /the parameter command is not supported/],
    ["qemu+ssh://h/system?keyfile=/a b", /keyfile must be an absolute path/],
    ["qemu+ssh://h/system?keyfile=rel/key", /keyfile must be an absolute path/],
    ["qemu+ssh://u:pw@h/system", /it holds a password/],
    ["qemu+ssh://-oProxyCommand=x/system", /names no valid host|not a libvirt connection/],
    ["qemu://h/system", /a local connection has no host/],
    ["not a uri", /it is not a URI/],
    // bootc reads the first of a repeated parameter, libvirt the last: each may be given once.
    ["qemu+ssh://h/system?no_verify=0&no_verify=1", /the parameter no_verify is given more than once/],
    ["qemu+ssh://h/system?keyfile=/a&keyfile=/b", /the parameter keyfile is given more than once/],
    ["qemu+ssh://h/system?no%5Fverify=0&no_verify=1", /the parameter no_verify is given more than once/],
    // libvirt also splits parameters at ";", which URLSearchParams does not.
    ["qemu+ssh://h/system?known_hosts=/k;no_verify=1", /separated by ";"/],
  ])("refuses %s", (uri, why) => {
    expect(() => parseConnection(uri)).toThrow(why);
  });
});

describe("stateOf", () => {
  it("maps libvirt's domain states to VM states", () => {
    expect(stateOf("running")).toBe("running");
    expect(stateOf("paused")).toBe("running");
    expect(stateOf("in shutdown")).toBe("stopping");
    expect(stateOf("shut off")).toBe("stopped");
    expect(stateOf("crashed")).toBe("failed");
  });
});
