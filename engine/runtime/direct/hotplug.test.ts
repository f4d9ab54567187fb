import { describe, expect, it } from "vitest";
import { freePort, plugCommands, removeChardevCommand, unplugCommand } from "./hotplug.js";

const share = { chardev: "root1", device: "vroot1", bus: "hp1", tag: "root1" };

describe("hot-plugging a virtiofs root over QMP", () => {
  it("adds the socket chardev first, then the vhost-user-fs device on the root port", () => {
    expect(plugCommands(share, "/run/b/web/root1.sock")).toEqual([
      {
        execute: "chardev-add",
        arguments: { id: "root1", backend: { type: "socket", data: { addr: { type: "unix", data: { path: "/run/b/web/root1.sock" } }, server: false } } },
      },
      { execute: "device_add", arguments: { driver: "vhost-user-fs-pci", id: "vroot1", chardev: "root1", tag: "root1", bus: "hp1" } },
    ]);
  });

  it("takes a path as JSON data, never into an option string", () => {
    const [chardev] = plugCommands(share, "/r/a,path=/etc/x.sock");
    expect(JSON.stringify(chardev)).toContain('"path":"/r/a,path=/etc/x.sock"');
  });

  it("unplugs by device id, and removes the chardev by its id", () => {
    expect(unplugCommand(share)).toEqual({ execute: "device_del", arguments: { id: "vroot1" } });
    expect(removeChardevCommand(share)).toEqual({ execute: "chardev-remove", arguments: { id: "root1" } });
  });

  it("picks a root port no plugged root holds", () => {
    expect(freePort(["hp0", "hp1", "hp2"], [{ bus: "hp0" }])).toBe("hp1");
    expect(freePort(["hp0", "hp1", "hp2"], [{ bus: "hp1" }, { bus: "hp0" }])).toBe("hp2");
    expect(freePort(["hp0", "hp1"], [{ bus: "hp0" }, { bus: "hp1" }])).toBeUndefined();
  });
});
