import { describe, expect, it } from "vitest";
import { buildVfkitArgs, vmMac, type VfkitSpec } from "./args.js";

const disk: VfkitSpec = {
  cpus: 2,
  memoryMiB: 2048,
  boot: { kind: "efi", variableStore: "/Users/me/.local/state/bootc-console/vms/web/efi-vars" },
  disks: ["/Users/me/.local/state/bootc-console/vms/web/disk.raw"],
  network: { kind: "nat", mac: "52:54:00:70:2b:71" },
  serial: { kind: "stdio" },
  shares: [],
  vsock: [],
};

const after = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe("buildVfkitArgs", () => {
  it("boots a disk with UEFI in vfkit's documented spelling", () => {
    expect(buildVfkitArgs(disk)).toEqual([
      "--cpus",
      "2",
      "--memory",
      "2048",
      "--bootloader",
      "efi,variable-store=/Users/me/.local/state/bootc-console/vms/web/efi-vars,create",
      "--device",
      "virtio-blk,path=/Users/me/.local/state/bootc-console/vms/web/disk.raw",
      "--device",
      "virtio-net,nat,mac=52:54:00:70:2b:71",
      "--device",
      "virtio-serial,stdio",
      "--device",
      "virtio-rng",
      "--restful-uri",
      "none://",
    ]);
  });

  it("boots the image's kernel on its VM's clone of the root image, with shares over virtio-fs (the macOS ephemeral design)", () => {
    const args = buildVfkitArgs({
      ...disk,
      boot: { kind: "linux", kernel: "/c/Image", initrd: "/c/initramfs.img", cmdline: ["root=/dev/vda", "ro", "systemd.volatile=overlay"] },
      disks: ["/Users/me/.local/state/bootc-console/vms/web/root.img"],
      shares: [
        { dir: "/Users/me/src", tag: "bind1" },
        { dir: "/Users/me/data", tag: "bind2" },
      ],
      serial: { kind: "file", path: "/Users/me/serial.log" },
    });
    expect(after(args, "--bootloader")).toEqual([
      'linux,kernel=/c/Image,initrd=/c/initramfs.img,cmdline="console=hvc0 root=/dev/vda ro systemd.volatile=overlay"',
    ]);
    expect(after(args, "--device")).toEqual([
      "virtio-blk,path=/Users/me/.local/state/bootc-console/vms/web/root.img",
      "virtio-net,nat,mac=52:54:00:70:2b:71",
      "virtio-serial,logFilePath=/Users/me/serial.log",
      "virtio-fs,sharedDir=/Users/me/src,mountTag=bind1",
      "virtio-fs,sharedDir=/Users/me/data,mountTag=bind2",
      "virtio-rng",
    ]);
  });

  it("attaches a user-mode network on a socket, vsock ports as unix sockets, and the REST API on a unix socket", () => {
    const args = buildVfkitArgs({
      ...disk,
      network: { kind: "socket", path: "/tmp/b/web/net.sock", mac: "52:54:00:00:00:01" },
      vsock: [{ port: 1024, socket: "/tmp/b/web/vsock-1024.sock", direction: "connect" }],
      restSocket: "/tmp/b/web/vfkit.sock",
    });
    expect(after(args, "--device")).toContain("virtio-net,unixSocketPath=/tmp/b/web/net.sock,mac=52:54:00:00:00:01");
    expect(after(args, "--device")).toContain("virtio-vsock,port=1024,socketURL=/tmp/b/web/vsock-1024.sock,connect");
    expect(after(args, "--restful-uri")).toEqual(["unix:///tmp/b/web/vfkit.sock"]);
  });

  it("refuses a comma in any value, since vfkit cannot escape one (a path must not add options)", () => {
    expect(() => buildVfkitArgs({ ...disk, disks: ["/Users/me/a,readonly/disk.raw"] })).toThrow(/the disk .* splits its options at every comma/);
    expect(() => buildVfkitArgs({ ...disk, boot: { kind: "efi", variableStore: "/x,y" } })).toThrow(/EFI variable store/);
    expect(() => buildVfkitArgs({ ...disk, shares: [{ dir: "/a", tag: "t,x" }] })).toThrow(/share tag/);
    expect(() => buildVfkitArgs({ ...disk, boot: { kind: "linux", kernel: "/k", cmdline: ["rootflags=a,b"] } })).toThrow(/kernel command line/);
    expect(() => buildVfkitArgs({ ...disk, boot: { kind: "linux", kernel: "/k", cmdline: ['a="b"'] } })).toThrow(/double quote/);
    expect(() => buildVfkitArgs({ ...disk, network: { kind: "nat", mac: "nat,mac=x" } })).toThrow(/not a MAC address/);
  });

  it("gives each VM name a stable, locally administered unicast MAC address", () => {
    const mac = vmMac("web");
    expect(mac).toBe(vmMac("web"));
    expect(mac).not.toBe(vmMac("db"));
    expect(mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(parseInt(mac.slice(0, 2), 16) & 0x03).toBe(0x02);
  });
});
