import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { q35DevicesIn, q35DevicesToTurnOff } from "./q35.js";

// As qemu 7.2 prints `-machine q35,help` (abridged): the properties, one per line.
const HELP_7_2 = `pc-q35-7.2-machine options:
  acpi=<OnOffAuto>       - Enable ACPI
  hpet=<bool>            - Enable/disable high precision event timer emulation
  i8042=<bool>
  pit=<OnOffAuto>        - Enable i8254 PIT
  sata=<bool>            - Enable/disable Serial ATA bus
  smbus=<bool>           - Enable/disable system management bus
  usb=<bool>             - Set on/off to enable/disable usb
  vmport=<OnOffAuto>     - Enable vmport (pc & q35)`;

describe("q35's unused devices", () => {
  it("turns off those qemu lists as machine properties, and only those", () => {
    expect(q35DevicesIn(HELP_7_2)).toEqual(["sata", "smbus", "i8042", "vmport"]);
    // qemu before 7.0 has no i8042 property: naming it would fail the boot.
    expect(q35DevicesIn(HELP_7_2.replace(/^ {2}i8042=.*$/m, ""))).toEqual(["sata", "smbus", "vmport"]);
    // A description that mentions a name is not a property.
    expect(q35DevicesIn("  usb=<bool>  - unlike sata=off")).toEqual([]);
  });

  it("asks this host's qemu, and turns none off when qemu cannot answer", async () => {
    // sata, smbus and vmport are old properties; i8042 came with qemu 7.0.
    if (existsSync("/usr/bin/qemu-system-x86_64"))
      expect(await q35DevicesToTurnOff("/usr/bin/qemu-system-x86_64")).toEqual(expect.arrayContaining(["sata", "smbus", "vmport"]));
    expect(await q35DevicesToTurnOff("/bin/false")).toEqual([]);
  });
});
