import { describe, expect, it } from "vitest";
import { buildQemuArgs, ephemeralKernelArgs, type QemuSpec } from "./qemu-args.js";
import { directDiskKernelArgs } from "../../disk/direct.js";

const base: QemuSpec = {
  arch: "x86_64",
  platform: "linux",
  accel: "tcg",
  name: "web",
  cpus: 2,
  memoryMiB: 1024,
  kernel: "/m/usr/lib/modules/6.1/vmlinuz",
  initrd: "/m/usr/lib/modules/6.1/initramfs.img",
  cmdline: ephemeralKernelArgs(["quiet"]),
  disks: [],
  shares: [
    { socket: "/run/b/web/fs0.sock", tag: "rootfs" },
    { socket: "/run/b/web/fs1.sock", tag: "bind1" },
  ],
  sshPort: 2222,
  forwards: [{ host: 8080, guest: 80 }],
  network: { kind: "user", restrict: false },
  qmpSocket: "/run/b/web/qmp.sock",
  provisionArgs: ["-smbios", "type=11,path=/s/vms/web/credential-0"],
};

const after = (args: string[], flag: string) => args.filter((_, i) => args[i - 1] === flag);

describe("buildQemuArgs", () => {
  it("starts paused (-S) only for a restore, which loads the snapshot before the guest runs", () => {
    expect(buildQemuArgs(base)).not.toContain("-S");
    expect(buildQemuArgs({ ...base, paused: true }).at(-1)).toBe("-S");
  });

  it("doubles commas in every path it puts into an option string, and puts disk paths in JSON, so a path cannot add options", () => {
    const file = '/home/u/x,file=/etc/shadow/d","driver":"raw.qcow2';
    const args = buildQemuArgs({
      ...base,
      disks: [{ file, format: "qcow2" }],
      shares: [{ socket: "/r/a,b/fs0.sock", tag: "rootfs" }],
      qmpSocket: "/r/a,b/qmp.sock",
    });
    expect(after(args, "-blockdev").map((j) => JSON.parse(j) as unknown)).toEqual([
      { "node-name": "disk0", driver: "qcow2", discard: "unmap", backing: null, file: { driver: "file", filename: file, discard: "unmap" } },
    ]);
    expect(after(args, "-chardev")[0]).toBe("socket,id=fs0,path=/r/a,,b/fs0.sock");
    expect(after(args, "-qmp")).toEqual(["unix:/r/a,,b/qmp.sock,server=on,wait=off"]);
  });

  it("boots the image's kernel with a virtiofs root and a volatile overlay on x86_64", () => {
    const args = buildQemuArgs(base);
    expect(after(args, "-kernel")).toEqual([base.kernel]);
    expect(after(args, "-initrd")).toEqual([base.initrd]);
    expect(after(args, "-append")).toEqual([
      "console=ttyS0 systemd.default_device_timeout_sec=600 quiet loglevel=3 8250.nr_uarts=1 root=virtiofs:rootfs rw systemd.volatile=overlay quiet",
    ]);
    expect(after(args, "-machine")).toEqual(["q35"]);
    expect(after(args, "-accel")).toEqual(["tcg,thread=single,tb-size=256"]);
    expect(after(args, "-cpu")).toEqual([]);
  });

  it("turns off the q35 devices it is given, under TCG and KVM alike; an arm64 guest's virt board has none", () => {
    const off = ["sata", "smbus", "i8042", "vmport"] as const;
    expect(after(buildQemuArgs({ ...base, q35DevicesOff: off }), "-machine")).toEqual(["q35,sata=off,smbus=off,i8042=off,vmport=off"]);
    expect(after(buildQemuArgs({ ...base, accel: "kvm", q35DevicesOff: ["sata"] }), "-machine")).toEqual(["q35,sata=off,accel=kvm"]);
    // A VM made before bootc turned them off (no q35DevicesOff) keeps them all: its snapshots were saved with them.
    expect(after(buildQemuArgs(base), "-machine")).toEqual(["q35"]);
    expect(after(buildQemuArgs({ ...base, q35DevicesOff: [] }), "-machine")).toEqual(["q35"]);
    expect(after(buildQemuArgs({ ...base, guestArch: "aarch64", q35DevicesOff: off }), "-machine")).toEqual(["virt,gic-version=3"]);
  });

  it("runs TCG with a host thread per vCPU when asked (decideTcgThreads), for either guest architecture", () => {
    expect(after(buildQemuArgs({ ...base, tcgThreads: "multi" }), "-accel")).toEqual(["tcg,thread=multi,tb-size=256"]);
    expect(after(buildQemuArgs({ ...base, guestArch: "aarch64", tcgThreads: "multi" }), "-accel")).toEqual(["tcg,thread=multi,tb-size=256"]);
    expect(after(buildQemuArgs({ ...base, accel: "kvm", tcgThreads: "multi" }), "-accel")).toEqual([]);
  });

  it("adds no root ports unless asked, and puts a share into the port it names", () => {
    expect(buildQemuArgs(base).some((a) => a.startsWith("pcie-root-port"))).toBe(false);
    const args = buildQemuArgs({
      ...base,
      hotplugPorts: 3,
      shares: [{ socket: "/run/b/web/fs0.sock", tag: "rootfs", bus: "hp0" }, base.shares[1]!],
    });
    const devices = after(args, "-device");
    expect(devices.filter((d) => d.startsWith("pcie-root-port"))).toEqual([
      "pcie-root-port,id=hp0,chassis=1",
      "pcie-root-port,id=hp1,chassis=2",
      "pcie-root-port,id=hp2,chassis=3",
    ]);
    // A port must exist before the device that names it as its bus.
    expect(devices.indexOf("pcie-root-port,id=hp0,chassis=1")).toBeLessThan(devices.indexOf("vhost-user-fs-pci,id=vfs0,chardev=fs0,tag=rootfs,bus=hp0"));
    expect(devices).toContain("vhost-user-fs-pci,id=vfs1,chardev=fs1,tag=bind1");
  });

  it("shares memory with virtiofsd through a memfd backend on Linux", () => {
    const args = buildQemuArgs(base);
    expect(after(args, "-object")).toEqual(["memory-backend-memfd,id=mem,size=1024M,share=on"]);
    expect(after(args, "-numa")).toEqual(["node,memdev=mem"]);
  });

  it("attaches one vhost-user-fs device per share with its tag", () => {
    const args = buildQemuArgs(base);
    expect(after(args, "-device")).toContain("vhost-user-fs-pci,id=vfs0,chardev=fs0,tag=rootfs");
    expect(after(args, "-device")).toContain("vhost-user-fs-pci,id=vfs1,chardev=fs1,tag=bind1");
    expect(after(args, "-chardev")).toContain("socket,id=fs1,path=/run/b/web/fs1.sock");
  });

  it("forwards SSH and user ports on loopback only", () => {
    const [netdev] = after(buildQemuArgs(base), "-netdev");
    expect(netdev).toBe("user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80");
  });

  it("backs the network device by passt on a socket pair by default, which forwards the ports itself", () => {
    const args = buildQemuArgs({ ...base, network: { kind: "stream", fd: 3 } });
    expect(after(args, "-netdev")).toEqual(["stream,id=net0,server=off,addr.type=fd,addr.str=3"]);
    expect(args.join(" ")).not.toContain("hostfwd");
    expect(after(args, "-device")).toContain("virtio-net-pci,netdev=net0");
  });

  it("without passt, restricts qemu's user network to the forwarded ports: no host loopback, no outbound", () => {
    const [netdev] = after(buildQemuArgs({ ...base, network: { kind: "user", restrict: true } }), "-netdev");
    expect(netdev).toBe("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80");
  });

  it("ends with the first-boot configuration it is given", () => {
    expect(buildQemuArgs(base).slice(-2)).toEqual(["-smbios", "type=11,path=/s/vms/web/credential-0"]);
  });

  it("uses the host CPU with KVM", () => {
    const args = buildQemuArgs({ ...base, accel: "kvm" });
    expect(after(args, "-machine")).toEqual(["q35,accel=kvm"]);
    expect(after(args, "-cpu")).toEqual(["host"]);
  });

  it("gives emulated (TCG) boots a longer device timeout, and hardware-accelerated ones systemd's default", () => {
    // Under TCG udev can announce ttyS0 after systemd's 90 s default; serial-getty then fails for good.
    expect(after(buildQemuArgs(base), "-append")[0]).toContain(" systemd.default_device_timeout_sec=600 ");
    expect(after(buildQemuArgs({ ...base, accel: "kvm" }), "-append")[0]).not.toContain("device_timeout");
    // The user's --karg comes after ours, so theirs wins.
    const own = buildQemuArgs({ ...base, cmdline: ephemeralKernelArgs(["systemd.default_device_timeout_sec=30"]) });
    expect(after(own, "-append")[0]).toMatch(/device_timeout_sec=600 .*device_timeout_sec=30$/);
  });

  it("keeps an emulated boot's serial console quiet unless the user asks for the full log", () => {
    const tcg = after(buildQemuArgs(base), "-append")[0]!;
    expect(tcg).toContain(" quiet loglevel=3 8250.nr_uarts=1 ");
    expect(after(buildQemuArgs({ ...base, accel: "kvm", cmdline: ephemeralKernelArgs([]) }), "-append")[0]).not.toMatch(/quiet|loglevel|nr_uarts/);
    // arm64's console is a PL011, not an 8250: no port count for it.
    expect(after(buildQemuArgs({ ...base, arch: "aarch64" }), "-append")[0]).not.toContain("nr_uarts");
    // --karg loglevel=7 comes later on the command line, and the kernel takes the last one.
    const verbose = after(buildQemuArgs({ ...base, cmdline: ephemeralKernelArgs(["loglevel=7", "systemd.show_status=1"]) }), "-append")[0]!;
    expect(verbose).toMatch(/loglevel=3 .*loglevel=7 systemd\.show_status=1$/);
  });

  it("puts the boot messages on a virtio console in full, keeping the login on the serial port, when given its fd", () => {
    const args = buildQemuArgs({ ...base, messagesFd: 4 });
    expect(after(args, "-append")[0]).toBe(
      "console=hvc0 systemd.wants=serial-getty@ttyS0.service systemd.mask=serial-getty@hvc0.service systemd.default_device_timeout_sec=600 8250.nr_uarts=1 root=virtiofs:rootfs rw systemd.volatile=overlay quiet",
    );
    expect(after(args, "-chardev")).toContain("socket,id=messages,fd=4,server=off");
    expect(after(args, "-device")).toEqual(expect.arrayContaining(["virtio-serial-pci", "virtconsole,chardev=messages"]));
    // The serial port is still qemu's stdio, where the viewer types.
    expect(after(args, "-serial")).toEqual(["chardev:serial0"]);
    // arm64's login is on its PL011.
    expect(after(buildQemuArgs({ ...base, guestArch: "aarch64", messagesFd: 4 }), "-append")[0]).toMatch(
      /^console=hvc0 systemd\.wants=serial-getty@ttyAMA0\.service /,
    );
    // A disk the firmware boots has its own command line: no virtio console for it.
    const firmwareBoot = buildQemuArgs({ ...base, kernel: undefined, initrd: undefined, messagesFd: 4 });
    expect(firmwareBoot).not.toContain("virtconsole,chardev=messages");
  });

  it("builds the arm64 / HVF variant for macOS", () => {
    const args = buildQemuArgs({ ...base, arch: "aarch64", platform: "darwin", accel: "hvf" });
    expect(after(args, "-machine")).toEqual(["virt,accel=hvf"]);
    expect(after(args, "-cpu")).toEqual(["host"]);
    expect(after(args, "-append")[0]).toMatch(/^console=ttyAMA0 /);
    expect(after(args, "-object")).toEqual(["memory-backend-shm,id=mem,size=1024M,share=on"]);
  });

  it("emulates an arm64 guest on an x86_64 host: virt with GICv3, -cpu max, the PL011 console", () => {
    const args = buildQemuArgs({ ...base, guestArch: "aarch64" });
    expect(after(args, "-machine")).toEqual(["virt,gic-version=3"]);
    expect(after(args, "-cpu")).toEqual(["max,pauth-impdef=on"]);
    expect(after(args, "-accel")).toEqual(["tcg,thread=single,tb-size=256"]);
    expect(after(args, "-append")[0]).toMatch(/^console=ttyAMA0 systemd\.default_device_timeout_sec=600 quiet loglevel=3 root=virtiofs:rootfs /);
    // virt's devices are PCIe: the same virtio-pci devices as on q35.
    expect(after(args, "-device")).toEqual(
      expect.arrayContaining(["virtio-net-pci,netdev=net0", "vhost-user-fs-pci,id=vfs0,chardev=fs0,tag=rootfs", "virtio-rng-pci"]),
    );
    expect(after(args, "-object")).toEqual(["memory-backend-memfd,id=mem,size=1024M,share=on"]);
  });

  it("emulates an x86_64 guest on an arm64 host with q35 and single-threaded TCG", () => {
    const args = buildQemuArgs({ ...base, arch: "aarch64", guestArch: "x86_64" });
    expect(after(args, "-machine")).toEqual(["q35"]);
    expect(after(args, "-accel")).toEqual(["tcg,thread=single,tb-size=256"]);
    expect(after(args, "-append")[0]).toMatch(/^console=ttyS0 .* 8250\.nr_uarts=1 /);
  });

  it("boots a native arm64 guest under TCG the same way as a foreign one", () => {
    expect(after(buildQemuArgs({ ...base, arch: "aarch64" }), "-machine")).toEqual(["virt,gic-version=3"]);
    expect(after(buildQemuArgs({ ...base, arch: "aarch64", guestArch: "aarch64", accel: "kvm" }), "-cpu")).toEqual(["host"]);
  });

  it("never runs a foreign guest under KVM or HVF", () => {
    expect(() => buildQemuArgs({ ...base, guestArch: "aarch64", accel: "kvm" })).toThrow("an aarch64 guest on an x86_64 host runs under TCG only, not kvm");
    expect(() => buildQemuArgs({ ...base, arch: "aarch64", platform: "darwin", guestArch: "x86_64", accel: "hvf" })).toThrow(/TCG only/);
  });

  it("boots an arm64 UEFI disk with AAVMF as pflash", () => {
    const firmware = { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: "/s/vms/web/efi-vars.fd" };
    const args = buildQemuArgs({
      ...base,
      guestArch: "aarch64",
      kernel: undefined,
      initrd: undefined,
      firmware,
      disks: [{ file: "/s/vms/web/disk.qcow2", format: "qcow2" }],
    });
    expect(after(args, "-drive")).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
      "if=pflash,format=raw,unit=1,file=/s/vms/web/efi-vars.fd",
    ]);
    expect(after(args, "-kernel")).toEqual([]);
  });

  it("boots an arm64 direct-built disk: the image's kernel, the disk as /dev/vda, no firmware", () => {
    const args = buildQemuArgs({
      ...base,
      guestArch: "aarch64",
      cmdline: ["root=/dev/vda", "rootfstype=ext4", "rw"],
      disks: [{ file: "/s/vms/web/disk.qcow2", format: "qcow2" }],
    });
    expect(after(args, "-machine")).toEqual(["virt,gic-version=3"]);
    expect(after(args, "-append")[0]).toMatch(/^console=ttyAMA0 .*root=\/dev\/vda rootfstype=ext4 rw/);
    expect(after(args, "-drive")).toEqual([]);
    expect(args).toContain("virtio-blk-pci,drive=disk0");
  });

  it("boots an amd64 UEFI disk on an arm64 host with OVMF as pflash, under TCG", () => {
    const firmware = { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/s/vms/web/efi-vars.fd" };
    const args = buildQemuArgs({
      ...base,
      arch: "aarch64",
      guestArch: "x86_64",
      kernel: undefined,
      initrd: undefined,
      firmware,
      disks: [{ file: "/s/vms/web/disk.qcow2", format: "qcow2" }],
    });
    expect(after(args, "-machine")).toEqual(["q35"]);
    expect(after(args, "-accel")).toEqual(["tcg,thread=single,tb-size=256"]);
    expect(after(args, "-drive")).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/s/vms/web/efi-vars.fd",
    ]);
  });

  it("leaves out the SSH forward when the guest has no sshd", () => {
    const [netdev] = after(buildQemuArgs({ ...base, sshPort: undefined, forwards: [] }), "-netdev");
    expect(netdev).toBe("user,id=net0");
  });

  it("keeps the serial console on stdio and QMP on a unix socket", () => {
    const args = buildQemuArgs(base);
    expect(after(args, "-serial")).toEqual(["chardev:serial0"]);
    expect(after(args, "-qmp")).toEqual(["unix:/run/b/web/qmp.sock,server=on,wait=off"]);
  });

  it("boots a direct-built disk with the image's kernel and the overlay as /dev/vda", () => {
    const args = buildQemuArgs({ ...base, cmdline: directDiskKernelArgs([]), shares: [], disks: [{ file: "/s/vms/web/disk.qcow2", format: "qcow2" }] });
    expect(after(args, "-kernel")).toEqual([base.kernel]);
    expect(after(args, "-append")).toEqual([
      "console=ttyS0 systemd.default_device_timeout_sec=600 quiet loglevel=3 8250.nr_uarts=1 root=/dev/vda rootfstype=ext4 rw",
    ]);
    expect(after(args, "-blockdev")).toHaveLength(1);
    expect(after(args, "-device")).toContain("virtio-blk-pci,drive=disk0");
    expect(args).not.toContain("vhost-user-fs-pci");
  });

  it("boots an installed or premade disk through UEFI firmware, without -kernel", () => {
    const firmware = { code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/s/vms/web/OVMF_VARS.fd" };
    const args = buildQemuArgs({
      ...base,
      kernel: undefined,
      initrd: undefined,
      cmdline: [],
      firmware,
      shares: [],
      disks: [{ file: "/s/vms/web/disk.qcow2", format: "qcow2" }],
    });
    expect(args).not.toContain("-kernel");
    expect(args).not.toContain("-append");
    expect(after(args, "-drive")).toEqual([
      "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
      "if=pflash,format=raw,unit=1,file=/s/vms/web/OVMF_VARS.fd",
    ]);
    expect(after(args, "-device")).toContain("virtio-blk-pci,drive=disk0");
  });

  it("opens the overlay's base as a node of its own with no backing, whatever the files' headers name", () => {
    const disk = { file: "/s/vms/web/disk.qcow2", format: "qcow2" as const, backing: { file: "/home/u/server.qcow2", format: "qcow2" as const } };
    const args = buildQemuArgs({ ...base, disks: [disk] });
    expect(after(args, "-blockdev").map((j) => JSON.parse(j) as unknown)).toEqual([
      {
        "node-name": "disk0-base",
        driver: "qcow2",
        "read-only": true,
        backing: null,
        file: { driver: "file", filename: "/home/u/server.qcow2", "read-only": true },
      },
      {
        "node-name": "disk0",
        driver: "qcow2",
        discard: "unmap",
        backing: "disk0-base",
        file: { driver: "file", filename: "/s/vms/web/disk.qcow2", discard: "unmap" },
      },
    ]);
    // A raw base cannot name another file: it gets no backing option (raw has none).
    const raw = buildQemuArgs({ ...base, disks: [{ ...disk, backing: { file: "/c/disk.raw", format: "raw" } }] });
    expect(JSON.parse(after(raw, "-blockdev")[0]!)).toEqual({
      "node-name": "disk0-base",
      driver: "raw",
      "read-only": true,
      file: { driver: "file", filename: "/c/disk.raw", "read-only": true },
    });
    expect(args.join(" ")).not.toMatch(/if=virtio/);
  });

  it("boots a disk on macOS (arm64, HVF) through edk2 firmware", () => {
    const firmware = { code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd", vars: "/Users/me/.local/state/bootc-console/vms/web/efi-vars.fd" };
    const args = buildQemuArgs({
      ...base,
      arch: "aarch64",
      platform: "darwin",
      accel: "hvf",
      kernel: undefined,
      initrd: undefined,
      cmdline: [],
      firmware,
      shares: [],
      disks: [{ file: "/Users/me/disk.qcow2", format: "qcow2" }],
    });
    expect(after(args, "-machine")).toEqual(["virt,accel=hvf"]);
    expect(after(args, "-drive")[0]).toBe("if=pflash,format=raw,unit=0,readonly=on,file=/opt/homebrew/share/qemu/edk2-aarch64-code.fd");
    expect(JSON.parse(after(args, "-blockdev")[0]!)).toMatchObject({ file: { filename: "/Users/me/disk.qcow2" } });
  });
});
