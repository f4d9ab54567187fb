/**
 * Validation of what a user asks for when creating a VM. Everything is checked before
 * anything is created, so bad input leaves nothing behind.
 */
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { BootcError } from "./errors.js";

/** "2G", "1536M", "1024" (MiB) → MiB */
export function parseMemory(text: string): number {
  const m = /^(\d+)([MmGg]i?[Bb]?)?$/.exec(text.trim());
  if (!m?.[1]) throw new BootcError("INVALID_ARGUMENT", `--memory "${text}" is not a size`, "use a size such as 2G or 1536M");
  const n = Number(m[1]);
  return m[2]?.toLowerCase().startsWith("g") ? n * 1024 : n;
}

/** "20G", "512M", "1T" → bytes */
export function parseSize(text: string, flag = "--disk-size"): number {
  const m = /^(\d+)([KMGT])?i?B?$/i.exec(text.trim());
  if (!m?.[1]) throw new BootcError("INVALID_ARGUMENT", `${flag} "${text}" is not a size`, "use a size such as 20G or 512M");
  const unit = { K: 1, M: 2, G: 3, T: 4 }[(m[2] ?? "").toUpperCase() as "K" | "M" | "G" | "T"] ?? 0;
  return Number(m[1]) * 1024 ** unit;
}

/** "8080:80" → {host: 8080, guest: 80} */
export function parsePortForward(text: string): { host: number; guest: number } {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new BootcError("INVALID_ARGUMENT", `-p "${text}" is not a port forward`, "use HOST_PORT:GUEST_PORT, e.g. -p 8080:80");
  const [host, guest] = [Number(m[1]), Number(m[2])];
  for (const port of [host, guest]) {
    if (port < 1 || port > 65535) throw new BootcError("INVALID_ARGUMENT", `port ${port} in -p "${text}" is out of range`, "ports go from 1 to 65535");
  }
  return { host, guest };
}

/** "HOST_DIR:GUEST_DIR[:ro|:rw]" → bind share */
export function parseBind(text: string): { host: string; guest: string; readOnly: boolean } {
  const parts = text.split(":");
  let readOnly = false;
  if (parts.length === 3 && (parts[2] === "ro" || parts[2] === "rw")) {
    readOnly = parts.pop() === "ro";
  }
  const [host, guest] = parts;
  if (parts.length !== 2 || !host || !guest || !guest.startsWith("/")) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      `--bind "${text}" is not a share`,
      "use HOST_DIR:GUEST_DIR[:ro], e.g. --bind ./src:/mnt/src:ro (GUEST_DIR absolute)",
    );
  }
  return { host: path.resolve(host), guest: path.posix.normalize(guest), readOnly };
}

export async function checkBindSources(binds: Array<{ host: string }>): Promise<void> {
  for (const b of binds) {
    const s = await stat(b.host).catch(() => undefined);
    if (!s) throw new BootcError("SHARE_PATH", `shared folder ${b.host} does not exist`, "create it or fix the --bind path");
    if (!s.isDirectory())
      throw new BootcError("SHARE_PATH", `shared folder ${b.host} is not a directory`, "--bind shares directories; share the folder that contains the file");
  }
}

/** True if nothing listens on 127.0.0.1:port and we may bind it. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Where a VM's SSH port is chosen: unprivileged ports below the range the kernel hands out
 * for bind(0) and outgoing connections (Linux's is 32768–60999 unless changed, macOS's
 * 49152–65535). A port that bind(0) chose is free only until it is closed, and qemu binds it
 * seconds later (after the image is mounted and virtiofsd started): in between, any other
 * bind(0) on the host — another VM's, a server's — may be given the same port, and the boot
 * fails. Below that range a port is taken only by a program that names it (or by another VM
 * whose port is chosen at the same moment: one chance in ~12,800).
 */
export function sshPortBand(ephemeralLow = ephemeralRangeLow()): { low: number; high: number } {
  return { low: 20_000, high: Math.min(32_767, ephemeralLow - 1) };
}

/** The first port of Linux's ephemeral range (/proc); elsewhere, the lowest any other system uses. */
function ephemeralRangeLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux
  }
  return 32_768;
}

/** A port the kernel chose (bind(0)): the fallback when the band is too small or full. */
function kernelChosenPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host: "127.0.0.1" }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A free loopback port for a VM's SSH forward, from sshPortBand when it can be; never one
 * of `avoid` (the VM's own -p host ports, which qemu binds at the same moment).
 */
export async function freePort(avoid: readonly number[] = [], band = sshPortBand()): Promise<number> {
  const size = band.high - band.low + 1;
  if (size >= 1000) {
    // From a random place in the band on: two VMs created at once rarely look at the same port.
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < Math.min(size, 2000); i++) {
      const port = band.low + ((start + i) % size);
      if (!avoid.includes(port) && (await portIsFree(port))) return port;
    }
  }
  for (;;) {
    const port = await kernelChosenPort();
    if (!avoid.includes(port)) return port;
  }
}

/**
 * The SSH port a boot forwards: the recorded one if it is still free when qemu is about to
 * start, else another (a program that named that port took it since it was chosen).
 */
export async function sshPortForBoot(recorded: number | undefined, avoid: readonly number[] = []): Promise<number> {
  return recorded && (await portIsFree(recorded)) ? recorded : freePort(avoid);
}

/**
 * Checks that each forwarded host port is given once and free. `held` are ports that count
 * as free all the same: the VM that --replace removes holds them until it is removed.
 */
export async function checkPorts(forwards: Array<{ host: number }>, held: readonly number[] = []): Promise<void> {
  const seen = new Set<number>();
  for (const f of forwards) {
    if (seen.has(f.host)) throw new BootcError("INVALID_ARGUMENT", `host port ${f.host} is forwarded twice`, "give each -p a different host port");
    seen.add(f.host);
    if (!held.includes(f.host) && !(await portIsFree(f.host))) {
      throw new BootcError("PORT_IN_USE", `host port ${f.host} is already in use`, "pick another host port for -p, or stop what listens there");
    }
  }
}

const ADJECTIVES = ["brisk", "calm", "eager", "fresh", "keen", "lucid", "nimble", "quiet", "swift", "tidy"];
const NOUNS = ["otter", "heron", "lynx", "finch", "puffin", "marten", "ibis", "wren", "pika", "vole"];
export function generateName(taken: Set<string>): string {
  for (;;) {
    const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)]!;
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 90 + 10)}`;
    if (!taken.has(name)) return name;
  }
}

/** "--cloudinit [cdrom:|imds:]DIR" → transport and directory. */
export function parseCloudInit(text: string): { transport: "cdrom" | "imds"; dir: string } {
  const m = /^(cdrom|imds):(.*)$/.exec(text);
  const dir = m ? m[2]! : text;
  if (!dir)
    throw new BootcError("INVALID_ARGUMENT", `--cloudinit "${text}" names no directory`, "use --cloudinit DIR, --cloudinit cdrom:DIR or --cloudinit imds:DIR");
  return { transport: (m?.[1] as "cdrom" | "imds" | undefined) ?? "cdrom", dir: path.resolve(dir) };
}
