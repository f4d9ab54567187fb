/**
 * What every runtime needs to know about the guest's machine, whoever runs it: the serial
 * console's device name, the kernel arguments an emulated boot needs, a port forward.
 */
import type { Accel } from "./accel.js";
import type { HostArch } from "./tools.js";

export interface PortForward {
  host: number;
  guest: number;
}

export function consoleDevice(arch: HostArch): string {
  return arch === "aarch64" ? "ttyAMA0" : "ttyS0";
}

/**
 * Kernel arguments for an emulated (TCG) boot; the user's own --karg come later on the
 * command line and win.
 * - A guest boots 10–50× slower, and systemd's default 90 s device timeout can expire
 *   before udev has announced the serial port: serial-getty then fails for good and the
 *   serial console never shows a login prompt. Emulated boots get a longer timeout.
 * - Every byte through the emulated 16550 UART costs guest time: the kernel's and
 *   systemd's boot messages cost about a sixth of a TCG boot (docs/benchmarks.md). The
 *   console shows errors and the login prompt only; `--karg loglevel=7 --karg
 *   systemd.show_status=1` brings the full boot log back.
 * - Only the one serial port the VM has: the kernel otherwise registers four, and udev
 *   and systemd then process three phantom ports.
 */
export function emulationKernelArgs(accel: Accel, arch: HostArch): string[] {
  if (accel !== "tcg") return [];
  return ["systemd.default_device_timeout_sec=600", "quiet", "loglevel=3", ...(arch === "x86_64" ? ["8250.nr_uarts=1"] : [])];
}

/** Whether these last lines of a guest's serial console show a kernel panic (a guest that will never come up). */
export function kernelPanicked(lines: string[]): boolean {
  return lines.some((l) => l.includes("Kernel panic - not syncing"));
}
