import { describe, expect, it } from "vitest";
import { virtiofsdCommand } from "./virtiofsd.js";

describe("virtiofsdCommand", () => {
  it("uses -o source= for the C daemon", () => {
    const c = virtiofsdCommand({ binary: "/usr/lib/qemu/virtiofsd", flavour: "c", socket: "/r/fs0.sock", source: "/m", readOnly: false });
    expect(c).toEqual({ file: "/usr/lib/qemu/virtiofsd", args: ["--socket-path=/r/fs0.sock", "-o", "source=/m", "-o", "cache=auto"] });
  });

  it("makes a read-only C share read-only on the host, passing the path as an argument, not shell text", () => {
    const c = virtiofsdCommand({ binary: "/v", flavour: "c", socket: "/s", source: "/a dir; rm -rf /", readOnly: true });
    expect(c.file).toBe("unshare");
    const script = c.args[c.args.indexOf("-c") + 1]!;
    expect(script).not.toContain("/a dir");
    expect(c.args).toContain("/a dir; rm -rf /");
    expect(c.args.slice(-6)).toEqual(["/v", "--socket-path=/s", "-o", "source=/a dir; rm -rf /", "-o", "cache=auto"]);
  });

  it("trusts the guest's cache only where asked (the read-only image root), in both flavours", () => {
    const spec = { socket: "/s", source: "/m", readOnly: true, cache: "always" as const };
    expect(virtiofsdCommand({ ...spec, binary: "/v", flavour: "c" }).args.slice(-2)).toEqual(["-o", "cache=always"]);
    expect(virtiofsdCommand({ ...spec, binary: "/v", flavour: "rust" }).args).toContain("--cache=always");
    expect(virtiofsdCommand({ ...spec, cache: undefined, binary: "/v", flavour: "rust" }).args).toContain("--cache=auto");
  });

  it("uses --shared-dir and --readonly for the Rust daemon", () => {
    const c = virtiofsdCommand({ binary: "/usr/libexec/virtiofsd", flavour: "rust", socket: "/s", source: "/d", readOnly: true });
    expect(c.args).toContain("--shared-dir=/d");
    expect(c.args).toContain("--readonly");
  });

  it("gives a rootless C daemon a private /var/run for its pid file, and its socket relative to the socket's directory", () => {
    const c = virtiofsdCommand({ binary: "/v", flavour: "c", socket: "/run/user/1000/b/vm/fs1.sock", source: "/home/u/src", readOnly: true, rootless: true });
    expect(c.file).toBe("unshare");
    const script = c.args[c.args.indexOf("-c") + 1]!;
    expect(script).toMatch(/^cd "\$1" && mount -t tmpfs .* \/var\/run && shift && mount --bind "\$1"/);
    expect(c.args.slice(c.args.indexOf("-c") + 2)).toEqual([
      "sh",
      "/run/user/1000/b/vm",
      "/home/u/src",
      "/v",
      "--socket-path=fs1.sock",
      "-o",
      "source=/home/u/src",
      "-o",
      "cache=auto",
    ]);
  });
});
