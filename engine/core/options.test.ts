import { writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import {
  checkBindSources,
  checkPorts,
  freePort,
  parseBind,
  parseMemory,
  parsePortForward,
  parseSize,
  portIsFree,
  sshPortBand,
  sshPortForBoot,
} from "./options.js";
import { validateName } from "./schema.js";

/** A listener on 127.0.0.1:port (0: the kernel chooses), as another program would hold it. */
async function hold(port = 0): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen({ port, host: "127.0.0.1" }, resolve);
  });
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
}

describe("VM options", () => {
  it("accepts good names and rejects bad ones with a hint", () => {
    expect(validateName("web-1")).toBe("web-1");
    for (const bad of ["", "Web", "-x", "a/b", "x".repeat(41), "a b"]) {
      expect(() => validateName(bad)).toThrow(/not a valid VM name/);
    }
  });

  it("parses memory sizes", () => {
    expect(parseMemory("2G")).toBe(2048);
    expect(parseMemory("1536M")).toBe(1536);
    expect(parseMemory("512")).toBe(512);
    expect(() => parseMemory("lots")).toThrow(/not a size/);
  });

  it("parses port forwards and binds", () => {
    expect(parsePortForward("8080:80")).toEqual({ host: 8080, guest: 80 });
    expect(() => parsePortForward("80")).toThrow(/not a port forward/);
    expect(() => parsePortForward("70000:80")).toThrow(/port 70000 in -p "70000:80" is out of range/);
    expect(() => parsePortForward("8080:0")).toThrow(/port 0 .* is out of range/);
    expect(parseBind("/tmp/a:/mnt/a:ro")).toEqual({ host: "/tmp/a", guest: "/mnt/a", readOnly: true });
    expect(parseBind("/tmp/a:/mnt/a")).toEqual({ host: "/tmp/a", guest: "/mnt/a", readOnly: false });
    expect(() => parseBind("/tmp/a:relative")).toThrow(/not a share/);
  });

  it("refuses a bind source that is missing or not a directory", async () => {
    const dir = tempDir("bootc-opt-");
    const file = path.join(dir, "f");
    await writeFile(file, "x");
    await expect(checkBindSources([{ host: path.join(dir, "nope") }])).rejects.toThrow(/does not exist/);
    await expect(checkBindSources([{ host: file }])).rejects.toThrow(/is not a directory/);
    await expect(checkBindSources([{ host: dir }])).resolves.toBeUndefined();
  });

  it("refuses a host port that is already taken", async () => {
    const { port, close } = await hold();
    try {
      await expect(checkPorts([{ host: port }])).rejects.toMatchObject({ code: "PORT_IN_USE" });
    } finally {
      await close();
    }
  });

  it("counts a port held by the VM being replaced as free, and only that one", async () => {
    const { port, close } = await hold();
    try {
      await expect(checkPorts([{ host: port }], [port])).resolves.toBeUndefined();
      await expect(checkPorts([{ host: port }], [port + 1])).rejects.toMatchObject({ code: "PORT_IN_USE" });
      await expect(checkPorts([{ host: port }, { host: port }], [port])).rejects.toThrow(/forwarded twice/);
    } finally {
      await close();
    }
  });
});

describe("parseSize", () => {
  it("reads sizes with binary units", () => {
    expect(parseSize("20G")).toBe(20 * 1024 ** 3);
    expect(parseSize("512M")).toBe(512 * 1024 ** 2);
    expect(parseSize("1TiB")).toBe(1024 ** 4);
    expect(parseSize("4096")).toBe(4096);
  });
  it("refuses what is not a size, saying what to write", () => {
    expect(() => parseSize("big")).toThrow(/--disk-size "big" is not a size/);
    expect(() => parseSize("-1G")).toThrow(/is not a size/);
  });
});

describe("a VM's SSH port", () => {
  it("is chosen below the kernel's ephemeral range, where another program's bind(0) cannot be given it before qemu binds it", async () => {
    const taken = await hold(); // what bind(0) hands out: the range to stay out of
    try {
      const band = sshPortBand();
      expect(band.high).toBeLessThan(taken.port);
      for (let i = 0; i < 30; i++) {
        const port = await freePort();
        expect(port).toBeGreaterThanOrEqual(band.low);
        expect(port).toBeLessThanOrEqual(band.high);
        expect(await portIsFree(port)).toBe(true);
      }
    } finally {
      await taken.close();
    }
  });

  it("is never one of the VM's own -p host ports, nor a taken one", async () => {
    // A band in which all ports but one are the VM's -p ports: that one is what it gives.
    const only = await freePort();
    const band = { low: only - 500, high: only + 500 };
    const forwards = Array.from({ length: 1001 }, (_, i) => band.low + i).filter((p) => p !== only);
    expect(await freePort(forwards, band)).toBe(only);
    // Taken by another program: not given, though the -p ports leave nothing else in the band.
    const held = await hold(only);
    try {
      const port = await freePort(forwards, band);
      expect(port).not.toBe(only);
      expect(forwards).not.toContain(port);
    } finally {
      await held.close();
    }
  });

  it("moves when a program took the recorded one before the boot: the boot forwards a free port instead of failing in qemu", async () => {
    const held = await hold(await freePort());
    try {
      const port = await sshPortForBoot(held.port);
      expect(port).not.toBe(held.port);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      await held.close();
    }
    expect(await sshPortForBoot(held.port)).toBe(held.port); // free again: kept
  });
});
