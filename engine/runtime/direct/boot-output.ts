/**
 * What the monitor learns from the guest's serial output while it boots: the first byte
 * (the VM is running), the kernel handing over to userspace (a boot timeline mark), and a
 * kernel panic (the boot is over: say so now rather than at the readiness timeout).
 */
import type { Readable } from "node:stream";
import { kernelPanicked } from "../../host/machine.js";
import type { SerialFanout } from "./serial.js";

export interface BootOutputHandlers {
  firstByte: () => void;
  userspace: () => void;
  /** The last serial lines, panic included. */
  panicked: (lastLines: string[]) => void;
}

const USERSPACE = "Run /init as init process";

/**
 * Feeds the guest's console output — the serial port, and the virtio console with the boot
 * messages when it has one — to the console's fan-out, and watches it for the boot's
 * milestones.
 */
export function watchBootOutput(outputs: Readable[], serial: SerialFanout, on: BootOutputHandlers): void {
  let first = true;
  let userspace = false;
  const onData = (d: Buffer) => {
    if (first) {
      first = false;
      on.firstByte();
    }
    serial.push(d);
    // Lines are only checked when one ends: a flood arrives a few bytes per read.
    if (!d.includes(10)) return;
    // Checked on whole lines: the message can arrive split across two reads.
    if (!userspace && (d.toString().includes(USERSPACE) || serial.lastLines(3).some((l) => l.includes(USERSPACE)))) {
      userspace = true;
      on.userspace();
    }
    if (kernelPanicked(serial.lastLines(3))) on.panicked(serial.lastLines(12));
  };
  for (const output of outputs) output.on("data", onData);
}
