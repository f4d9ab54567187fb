import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { addHost, knownHosts, readHosts, rememberHost, removeHost, resolveHost } from "./hosts.js";

const env = (vars: Record<string, string>) => vars as unknown as NodeJS.ProcessEnv;

const paths = () => {
  const root = tempDir("bce-hosts-");
  return { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
};

describe("saved libvirt hosts", () => {
  it("saves, lists and forgets hosts, with bootc's pool unless one is named", async () => {
    const p = paths();
    await addHost(p, { name: "big", uri: "qemu+ssh://me@big/system" });
    await addHost(p, { name: "here", uri: "qemu:///system", pool: "images" });
    expect((await knownHosts(p, env({}))).map((h) => [h.name, h.pool, h.connection.local])).toEqual([
      ["big", "bootc", false],
      ["here", "images", true],
    ]);
    await removeHost(p, "big");
    expect((await readHosts(p)).map((h) => h.name)).toEqual(["here"]);
    await expect(removeHost(p, "big")).rejects.toThrow(/no saved host named "big"/);
  });

  it("refuses a bad URI, name or pool before saving anything", async () => {
    const p = paths();
    await expect(addHost(p, { name: "x", uri: "xen:///system" })).rejects.toThrow(/not a libvirt connection/);
    await expect(addHost(p, { name: "Bad Name", uri: "qemu:///system" })).rejects.toThrow(/is not a host name/);
    await expect(addHost(p, { name: "local", uri: "qemu:///system" })).rejects.toThrow(/"local" names this machine's own VMs/);
    await expect(addHost(p, { name: "x", uri: "qemu:///system", pool: "../etc" })).rejects.toThrow(/not a storage pool name/);
    expect(await readHosts(p)).toEqual([]);
  });

  it("resolves --connect by name or URI, and saves a new URI only when asked to", async () => {
    const p = paths();
    await addHost(p, { name: "big", uri: "qemu+ssh://me@big/system" });
    expect(await resolveHost(p, "big")).toMatchObject({ uri: "qemu+ssh://me@big/system", saved: true });
    const fresh = await resolveHost(p, "qemu+ssh://root@other:2222/system");
    expect(fresh).toMatchObject({ name: "root@other:2222", saved: false });
    expect((await readHosts(p)).length).toBe(1);
    await rememberHost(p, fresh);
    expect((await readHosts(p)).map((h) => h.name)).toEqual(["big", "root@other:2222"]);
    await expect(resolveHost(p, "nosuch")).rejects.toThrow(/no saved host named "nosuch"/);
  });

  it("adds BOOTC_CONNECT's host to the known ones, once", async () => {
    const p = paths();
    await addHost(p, { name: "big", uri: "qemu+ssh://me@big/system" });
    expect((await knownHosts(p, env({ BOOTC_CONNECT: "big" }))).length).toBe(1);
    expect((await knownHosts(p, env({ BOOTC_CONNECT: "qemu:///system" }))).map((h) => h.name)).toEqual(["big", "libvirt"]);
  });

  it("says the hosts file is damaged rather than ignoring it", async () => {
    const p = paths();
    await addHost(p, { name: "big", uri: "qemu+ssh://me@big/system" });
    writeFileSync(path.join(p.state, "hosts.json"), "{not json");
    await expect(readHosts(p)).rejects.toThrow(/hosts\.json is damaged/);
  });
});
