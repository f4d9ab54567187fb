/**
 * The QMP commands that plug a virtiofs share into a running VM and take it out again, as
 * data (unit-tested): a socket chardev to the share's virtiofsd, then a vhost-user-fs
 * device on a free PCIe root port (qemu-args.ts reserves them; the root bus does not
 * hot-plug). Unplugging is the guest's to complete: device_del asks, DEVICE_DELETED says
 * it is done, and only then may the chardev go.
 */
import type { QmpCommand } from "./qmp.js";

export interface PluggedShare {
  /** The chardev's id (the socket to virtiofsd). */
  chardev: string;
  /** The vhost-user-fs device's qdev id. */
  device: string;
  /** The root port it sits in. */
  bus: string;
  /** The virtiofs tag the guest mounts. */
  tag: string;
}

/** chardev-add, then device_add: the device needs its chardev to exist. */
export function plugCommands(share: PluggedShare, socket: string): QmpCommand[] {
  return [
    {
      execute: "chardev-add",
      arguments: { id: share.chardev, backend: { type: "socket", data: { addr: { type: "unix", data: { path: socket } }, server: false } } },
    },
    { execute: "device_add", arguments: { driver: "vhost-user-fs-pci", id: share.device, chardev: share.chardev, tag: share.tag, bus: share.bus } },
  ];
}

/** Asks the guest to release the device (wait for DEVICE_DELETED before removeChardevCommand). */
export const unplugCommand = (share: Pick<PluggedShare, "device">): QmpCommand => ({ execute: "device_del", arguments: { id: share.device } });

export const removeChardevCommand = (share: Pick<PluggedShare, "chardev">): QmpCommand => ({ execute: "chardev-remove", arguments: { id: share.chardev } });

/** A root port no plugged share holds, or undefined when all are taken. */
export function freePort(ports: string[], plugged: Array<Pick<PluggedShare, "bus">>): string | undefined {
  return ports.find((p) => !plugged.some((s) => s.bus === p));
}
