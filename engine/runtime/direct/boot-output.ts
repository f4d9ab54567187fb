/**
 * What the monitor learns from the guest's serial output while it boots: the first byte
 * (the VM is running), the kernel handing over to userspace (a boot timeline mark), and a
 * kernel panic (the boot is over: say so now rather than at the readiness timeout).
 */
import type { Readable } from "node:stream";
import { KERNEL_PANIC } from "../../host/machine.js";
import type { SerialFanout } from "./serial.js";

export interface BootOutputHandlers {
  firstByte: () => void;
  userspace: () => void;
  /** The last serial lines, panic included. Once per panic (its closing line is not another), so again for a reset's new boot. */
  panicked: (lastLines: string[]) => void;
}

const USERSPACE = "Run /init as init process";
/** The line the kernel ends a panic's report with: "---[ end Kernel panic - not syncing: MESSAGE ]---". */
const PANIC_END = "---[ end Kernel panic";

/**
 * Feeds the guest's console output — the serial port, and the virtio console with the boot
 * messages when it has one — to the console's fan-out, and watches it for the boot's
 * milestones.
 */
export function watchBootOutput(outputs: Readable[], serial: SerialFanout, on: BootOutputHandlers): void {
  let first = true;
  let userspace = false;
  // The message of the panic reported last: its closing line is the same panic, not another.
  let reported: string | undefined;
  const panicLine = (line: string) => {
    const at = line.indexOf(KERNEL_PANIC);
    if (at < 0) return;
    const message = line
      .slice(at)
      .replace(/\s*\]---\s*$/, "")
      .trim();
    const closing = line.includes(PANIC_END);
    if (closing && message === reported) {
      reported = undefined;
      return;
    }
    // A closing line whose opening was not seen still says the kernel panicked.
    reported = closing ? undefined : message;
    on.panicked(serial.lastLines(12));
  };
  for (const output of outputs) {
    let partial = ""; // each output's own unfinished line
    output.on("data", (d: Buffer) => {
      if (first) {
        first = false;
        on.firstByte();
      }
      serial.push(d);
      // Lines are only checked when one ends: a flood arrives a few bytes per read.
      if (!d.includes(10)) {
        partial = (partial + d.toString()).slice(-4096);
        return;
      }
      const lines = (partial + d.toString()).split("\n");
      partial = lines.pop()!.slice(-4096);
      for (const line of lines) {
        if (!userspace && line.includes(USERSPACE)) {
          userspace = true;
          on.userspace();
        }
        panicLine(line);
      }
    });
  }
}
