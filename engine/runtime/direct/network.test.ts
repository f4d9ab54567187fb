import { describe, expect, it } from "vitest";
import { passtArgs, planNetwork } from "./network.js";

describe("planNetwork", () => {
  it("keeps the guest off the host's loopback unless asked: passt on Linux, qemu's user network only with --allow-host-loopback", () => {
    expect(planNetwork({ allowHostLoopback: false, platform: "linux", passt: "/usr/bin/passt" })).toEqual({ kind: "passt", binary: "/usr/bin/passt" });
    expect(planNetwork({ allowHostLoopback: true, platform: "linux", passt: "/usr/bin/passt" })).toEqual({ kind: "user", restrict: false });
  });

  it("warns, only when there are -p ports, that passt waits for the client to speak first", () => {
    expect(planNetwork({ allowHostLoopback: false, platform: "linux", passt: "/usr/bin/passt", published: 0 }).warning).toBeUndefined();
    expect(planNetwork({ allowHostLoopback: false, platform: "linux", passt: "/usr/bin/passt", published: 1 }).warning).toMatch(
      /speaks first .*--allow-host-loopback$/,
    );
    expect(planNetwork({ allowHostLoopback: true, platform: "linux", passt: "/usr/bin/passt", published: 1 }).warning).toBeUndefined();
  });

  it("without passt, restricts qemu's user network and says what the guest lacks and how to get it", () => {
    expect(planNetwork({ allowHostLoopback: false, platform: "linux" })).toEqual({
      kind: "user",
      restrict: true,
      warning: expect.stringMatching(/^passt is not installed: the guest has no outbound network .*apt-get\/dnf install passt/),
    });
    expect(planNetwork({ allowHostLoopback: false, platform: "darwin", passt: "/x/passt" })).toMatchObject({
      kind: "user",
      restrict: true,
      warning: expect.stringMatching(/--allow-host-loopback/),
    });
  });
});

describe("passtArgs", () => {
  it("maps nothing to the host, forwards each port on 127.0.0.1 only, and logs (DHCP included) to the boot's file", () => {
    expect(
      passtArgs(
        [
          { host: 2222, guest: 22 },
          { host: 8080, guest: 80 },
        ],
        "/run/bootc/vm1/passt.log",
      ),
    ).toEqual(["--foreground", "--log-file", "/run/bootc/vm1/passt.log", "--fd", "3", "--no-map-gw", "-t", "127.0.0.1/2222:22", "-t", "127.0.0.1/8080:80"]);
  });
});
