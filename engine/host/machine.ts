/**
 * What every runtime needs to know about the guest's machine, whoever runs it: the serial
 * console's device name, where the boot messages go, the kernel arguments an emulated boot
 * needs, a port forward.
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
export function emulationKernelArgs(accel: Accel, arch: HostArch, { quiet = true } = {}): string[] {
  if (accel !== "tcg") return [];
  return ["systemd.default_device_timeout_sec=600", ...(quiet ? ["quiet", "loglevel=3"] : []), ...(arch === "x86_64" ? ["8250.nr_uarts=1"] : [])];
}

/** The virtio console (virtconsole on a virtio-serial bus) a runtime may give the guest for its boot messages. */
export const MESSAGES_CONSOLE = "hvc0";

/**
 * The console arguments of a direct kernel boot.
 * - With a virtio console for the messages (messagesOnVirtio): the kernel's and systemd's
 *   messages go there in full — a virtqueue hands qemu a whole write per exit where the
 *   16550 UART traps on every byte, so under TCG they cost about what the quiet UART
 *   did (docs/benchmarks.md, "Boot messages") — and the login stays on the serial port,
 *   the one a viewer types into: a getty there, none on hvc0, so one login prompt.
 * - Without one (libvirt's domains): the serial port is the console, quiet under TCG.
 */
export function consoleKernelArgs(accel: Accel, arch: HostArch, messagesOnVirtio: boolean): string[] {
  const serial = consoleDevice(arch);
  if (!messagesOnVirtio) return [`console=${serial}`, ...emulationKernelArgs(accel, arch)];
  return [
    `console=${MESSAGES_CONSOLE}`,
    `systemd.wants=serial-getty@${serial}.service`,
    `systemd.mask=serial-getty@${MESSAGES_CONSOLE}.service`,
    ...emulationKernelArgs(accel, arch, { quiet: false }),
  ];
}

/** What the kernel prints when it panics: "Kernel panic - not syncing: MESSAGE". */
export const KERNEL_PANIC = "Kernel panic - not syncing";

/** Whether these last lines of a guest's serial console show a kernel panic (a guest that will never come up). */
export function kernelPanicked(lines: string[]): boolean {
  return lines.some((l) => l.includes(KERNEL_PANIC));
}
