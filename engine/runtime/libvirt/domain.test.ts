import { describe, expect, it } from "vitest";
import { domainXml, poolDirectory, readDomainMetadata, xmlEscape, type DomainSpec } from "./domain.js";

const spec: DomainSpec = {
  name: "web",
  arch: "x86_64",
  accel: "tcg",
  cpus: 2,
  memoryMiB: 2048,
  pool: "bootc",
  overlayVolume: "bootc-vm-web.qcow2",
  kernel: { kernel: "/pool/k.vmlinuz", initrd: "/pool/k.initrd", cmdline: ["root=/dev/vda", "rw"] },
  serialSocket: "/var/lib/libvirt/qemu/bootc-web.serial",
  serialLog: "/var/log/libvirt/qemu/bootc-web-serial.log",
  sshPort: 40022,
  forwards: [{ host: 8080, guest: 80 }],
  allowHostLoopback: false,
  oemStrings: ["io.systemd.credential.binary:tmpfiles.extra=ZCAvcm9vdA=="],
  shares: [],
  metadata: { name: "web", image: "localhost/x:latest", note: `a <b> & "c"` },
};

describe("domainXml", () => {
  it("describes a TCG direct-kernel guest on an overlay volume, with SMBIOS credentials", () => {
    const xml = domainXml(spec);
    expect(xml).toMatch(/^<domain type='qemu' /);
    expect(xml).toContain("<name>web</name>");
    expect(xml).toContain("<memory unit='MiB'>2048</memory>");
    expect(xml).toContain("<vcpu>2</vcpu>");
    expect(xml).toContain("<kernel>/pool/k.vmlinuz</kernel>");
    expect(xml).toContain("<cmdline>console=ttyS0 systemd.default_device_timeout_sec=600 quiet loglevel=3 8250.nr_uarts=1 root=/dev/vda rw</cmdline>");
    expect(xml).toContain("<source pool='bootc' volume='bootc-vm-web.qcow2'/>");
    expect(xml).toContain("<smbios mode='sysinfo'/>");
    expect(xml).toContain("<entry>io.systemd.credential.binary:tmpfiles.extra=ZCAvcm9vdA==</entry>");
    expect(xml).toContain("<source mode='bind' path='/var/lib/libvirt/qemu/bootc-web.serial'/>");
    expect(xml).not.toContain("host-passthrough");
    expect(xml).not.toContain("<memoryBacking>");
    // A 256 MiB translation cache, not qemu's 1 GiB (TCG_TB_CACHE_MIB).
    expect(xml).toContain("<features><acpi/><vmport state='off'/><tcg><tb-cache unit='MiB'>256</tb-cache></tcg></features>");
    // None of the devices libvirt would add by itself that the guest does not use.
    expect(xml).toContain("<controller type='usb' model='none'/>");
    expect(xml).toContain("<memballoon model='none'/>");
  });

  it("shares host folders through virtiofs, with guest memory virtiofsd can map", () => {
    const xml = domainXml({ ...spec, shares: [{ dir: "/srv/my src", tag: "bind1", readOnly: true }], virtiofsd: "/usr/lib/qemu/virtiofsd" });
    expect(xml).toContain("<memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>");
    expect(xml).toContain("<driver type='virtiofs'/>\n<binary path='/usr/lib/qemu/virtiofsd'/>\n<source dir='/srv/my src'/>\n<target dir='bind1'/>");
    expect(() => domainXml({ ...spec, shares: [{ dir: "/a", tag: "bind1", readOnly: false }] })).toThrow(/path of virtiofsd/);
  });

  it("forwards SSH and the user's ports on the host's loopback only, and keeps the guest off the host's loopback", () => {
    expect(domainXml(spec)).toContain("<qemu:arg value='user,id=bootcnet,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:8080-:80'/>");
    expect(domainXml({ ...spec, allowHostLoopback: true })).toContain(
      "<qemu:arg value='user,id=bootcnet,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:8080-:80'/>",
    );
  });

  it("boots UEFI when there is no kernel to load, and uses the host CPU under KVM", () => {
    const xml = domainXml({ ...spec, kernel: undefined, accel: "kvm" });
    expect(xml).toMatch(/^<domain type='kvm' /);
    expect(xml).toContain("<os firmware='efi'>");
    expect(xml).toContain("<feature enabled='no' name='secure-boot'/>");
    expect(xml).not.toContain("<kernel>");
    expect(xml).toContain("<cpu mode='host-passthrough'/>");
    expect(xml).not.toContain("<tcg>");
  });

  it("describes an emulated arm64 guest: virt with GICv3, qemu's max CPU, its serial console, no ACPI without UEFI", () => {
    const xml = domainXml({ ...spec, arch: "aarch64" });
    expect(xml).toMatch(/^<domain type='qemu' /);
    expect(xml).toContain("<type arch='aarch64' machine='virt'>hvm</type>");
    expect(xml).toContain("<cpu mode='maximum' check='none'/>");
    expect(xml).toContain("<features><gic version='3'/><tcg><tb-cache unit='MiB'>256</tb-cache></tcg></features>");
    expect(xml).toMatch(/<cmdline>console=ttyAMA0 [^<]* root=\/dev\/vda rw<\/cmdline>/);
    expect(xml).not.toContain("8250.nr_uarts");
    // virt has no pcie.0 slot 0x10 to pin the network card to: libvirt's bus, any slot.
    expect(xml).toContain("<qemu:arg value='virtio-net-pci,netdev=bootcnet'/>");
    // A UEFI disk (an install-built or premade one) keeps ACPI.
    expect(domainXml({ ...spec, arch: "aarch64", kernel: undefined })).toContain(
      "<features><acpi/><gic version='3'/><tcg><tb-cache unit='MiB'>256</tb-cache></tcg></features>",
    );
    // Under KVM (an arm64 libvirt host) the host's CPU, as for x86_64.
    expect(domainXml({ ...spec, arch: "aarch64", accel: "kvm" })).toContain("<cpu mode='host-passthrough'/>");
    expect(domainXml(spec)).toContain("<features><acpi/><vmport state='off'/><tcg><tb-cache unit='MiB'>256</tb-cache></tcg></features>");
    expect(domainXml(spec)).not.toContain("<cpu ");
  });

  it("escapes every value, so a value cannot add elements or attributes", () => {
    const xml = domainXml({ ...spec, serialLog: "/x'/><evil a='", oemStrings: ["a</entry><evil/>"] });
    expect(xml).not.toContain("<evil");
    expect(xml).toContain("file='/x&apos;/&gt;&lt;evil a=&apos;'");
    expect(() => xmlEscape("a\u0001b")).toThrow(/control character/);
  });

  it("carries the record in its metadata, read back whatever prefix libvirt gives the namespace", () => {
    const xml = domainXml(spec);
    expect(readDomainMetadata(xml)).toEqual(spec.metadata);
    // As libvirt writes it back: another prefix, double quotes.
    const rewritten = xml.replace(/<bootc:vm xmlns:bootc='([^']+)'>/, '<meta:vm xmlns:meta="$1">').replace("</bootc:vm>", "</meta:vm>");
    expect(readDomainMetadata(rewritten)).toEqual(spec.metadata);
    expect(readDomainMetadata("<domain><name>other</name></domain>")).toBeUndefined();
  });

  it("reads metadata another namespace put under the same local name as not bootc's, and a cloud-init seed becomes a read-only second disk", () => {
    const foreign = domainXml(spec).replace(/xmlns:bootc='[^']+'/, "xmlns:bootc='https://example.com/other'");
    expect(readDomainMetadata(foreign)).toBeUndefined();
    const xml = domainXml({ ...spec, seedVolume: "bootc-vm-web-seed.iso" });
    expect(xml).toMatch(/<source pool='bootc' volume='bootc-vm-web-seed\.iso'\/>\n<target dev='vdb' bus='virtio'\/>\n<readonly\/>/);
  });

  it("finds a dir pool's directory in virsh pool-dumpxml output", () => {
    const xml =
      "<pool type='dir'>\n  <name>bootc</name>\n  <target>\n    <path>/var/lib/libvirt/images/bootc</path>\n    <permissions><mode>0711</mode></permissions>\n  </target>\n</pool>\n";
    expect(poolDirectory(xml)).toBe("/var/lib/libvirt/images/bootc");
    expect(poolDirectory("<pool type='logical'><name>vg</name><target/></pool>")).toBeUndefined();
  });
});
