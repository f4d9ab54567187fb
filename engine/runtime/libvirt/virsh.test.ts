import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { libvirtRunDir, type EnginePaths } from "../../core/paths.js";
import { parseConnection } from "./connection.js";
import { hostSshArgs } from "./virsh.js";

const remote = parseConnection("qemu+ssh://me@build.example/system");

function roots(): EnginePaths {
  const base = tempDir("bce-virsh-");
  return { state: path.join(base, "state"), cache: path.join(base, "cache"), runtime: path.join(base, "run") };
}

describe("hostSshArgs", () => {
  it("writes the host's ssh_config in a private directory of ours", async () => {
    const paths = roots();
    const args = await hostSshArgs(remote, { dir: libvirtRunDir(paths), paths });
    expect(args).toEqual(["-F", path.join(libvirtRunDir(paths), "libvirt-host.ssh_config")]);
    expect(readFileSync(args[1]!, "utf8")).toContain("HostName build.example");
    expect(statSync(libvirtRunDir(paths)).mode & 0o777).toBe(0o700);
  });

  // Another user who made the directory could swap the file for one whose ProxyCommand runs as us.
  it("writes nothing into a _libvirt directory that is open to others", async () => {
    const paths = roots();
    mkdirSync(libvirtRunDir(paths), { recursive: true, mode: 0o700 });
    chmodSync(libvirtRunDir(paths), 0o777);
    if (process.getuid?.() === 0) chownSync(libvirtRunDir(paths), 65534, 65534);
    await expect(hostSshArgs(remote, { dir: libvirtRunDir(paths), paths })).rejects.toThrow(/_libvirt (belongs to uid 65534|is writable by others)/);
    expect(existsSync(path.join(libvirtRunDir(paths), "libvirt-host.ssh_config"))).toBe(false);
  });
});
