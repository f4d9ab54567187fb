/**
 * Which of q35's unused devices (core/names.ts, UNUSED_Q35_DEVICES) a qemu can boot
 * without. Under TCG each of them costs the guest time at every boot: the kernel loads
 * ahci, libata and scsi_mod and probes six SATA ports, loads i2c_i801 for the SMBus, and
 * psmouse probes the PS/2 port's mouse protocols; booting without them took 8 % less qemu
 * CPU to SSH (docs/benchmarks.md, "q35's unused devices"). qemu names each as a machine
 * property (`-machine q35,sata=off`), but only from some version on (i8042 from 7.0), and
 * an unknown property fails the boot: so qemu is asked which it has.
 */
import { UNUSED_Q35_DEVICES } from "../core/names.js";
import type { VmRecord } from "../core/record.js";
import { findQemu, hostArch } from "./tools.js";

export type Q35Device = (typeof UNUSED_Q35_DEVICES)[number];

/** The unused devices `-machine q35,help` lists as properties (one "  NAME=<type> ..." line each). */
export function q35DevicesIn(help: string): Q35Device[] {
  const props = new Set(help.split("\n").map((l) => /^\s*([\w-]+)=/.exec(l)?.[1]));
  return UNUSED_Q35_DEVICES.filter((d) => props.has(d));
}

/** The unused q35 devices `qemu` (an x86_64 system emulator) can turn off; none if it cannot tell. */
export async function q35DevicesToTurnOff(qemu: string): Promise<Q35Device[]> {
  // Loaded here, not at the top: the CLI's quick commands (list, ssh) import the runtime that imports this.
  const { execa } = await import("execa");
  const r = await execa(qemu, ["-machine", "q35,help"], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? q35DevicesIn(r.stdout) : [];
}

/**
 * The q35 devices a new VM boots without, for life, as a record field: what its record says
 * already, else asked of its qemu — anew for every VM (80 ms), since a cached answer would
 * outlive an upgrade of qemu under a running `bootc serve`. Nothing for an arm64 guest (its
 * virt board has none of these devices).
 */
export async function q35Board(r: Pick<VmRecord, "arch" | "q35DevicesOff">, env: NodeJS.ProcessEnv = process.env): Promise<Pick<VmRecord, "q35DevicesOff">> {
  const guest = r.arch ?? hostArch();
  const off = r.q35DevicesOff ?? (guest === "x86_64" ? await q35DevicesToTurnOff(findQemu(env, guest)) : undefined);
  return off ? { q35DevicesOff: off } : {};
}
