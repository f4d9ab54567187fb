/**
 * What the boot dialog holds, and how it is made: its defaults are the run options' own
 * (meta.runOptions, from the engine's schema), in the dialog's units (GiB for the disk,
 * one line for kernel arguments); a user's last choices are remembered per image.
 */
import type { RunOptionFacts } from "./run-options";

type Default<K extends keyof RunOptionFacts> = NonNullable<RunOptionFacts[K]["default"]>;

export interface Choices {
  name: string;
  pull: Default<"pull">;
  cpus: number;
  memoryMiB: number;
  forwards: Array<{ host: string; guest: string }>;
  shares: Array<{ host: string; guest: string; readOnly: boolean }>;
  kargs: string;
  removeOnStop: boolean;
  mode: Default<"mode">;
  diskSizeGiB: number;
  /** A premade disk file on the server's host (the dialog without an image). */
  diskFile: string;
  /** Where the VM runs: "" for bootc's own runtime, else a saved libvirt host's name. */
  host: string;
  autostart: boolean;
  /** The guest may reach the host's 127.0.0.1; never remembered between dialogs. */
  allowHostLoopback: boolean;
  user: string;
  sshKey: "generate" | "inject";
  /** Never remembered between dialogs. */
  password: string;
  autologin: boolean;
  cloudInitDir: string;
  cloudInitTransport: "cdrom" | "imds";
}

export const GiB = 1024 ** 3;

/** The dialog's first choices: the schema's defaults; what has none (a name, a folder) is left empty. */
export function defaultChoices(f: RunOptionFacts): Choices {
  return {
    name: "",
    pull: f.pull.default!,
    cpus: f.cpus.default!,
    memoryMiB: f.memoryMiB.default!,
    forwards: [],
    shares: [],
    kargs: f.kargs.default!.join(" "),
    removeOnStop: f.removeOnStop.default!,
    mode: f.mode.default!,
    diskSizeGiB: Math.ceil(f.diskSizeBytes.default! / GiB),
    diskFile: "",
    host: "",
    autostart: f.autostart.default!,
    allowHostLoopback: f.allowHostLoopback.default!,
    user: f.user.default!,
    sshKey: f.injectUserKey.default ? "inject" : "generate",
    password: "",
    autologin: f.autologin.default!,
    cloudInitDir: "",
    cloudInitTransport: f.cloudInit.fields!.transport!.default as Choices["cloudInitTransport"],
  };
}

const storageKey = (key: string) => `bootc-boot-choices:${key}`;

/** The defaults, with what the user chose last time for this image; a name is per VM and a password never stored. */
export function loadChoices(key: string, defaults: Choices): Choices {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey(key)) ?? "null") as Partial<Choices> | null;
    return { ...defaults, ...(saved ?? {}), name: "", password: "", allowHostLoopback: defaults.allowHostLoopback };
  } catch {
    return defaults;
  }
}

export const hasSavedChoices = (key: string) => localStorage.getItem(storageKey(key)) !== null;

export function saveChoices(key: string, c: Choices): void {
  localStorage.setItem(storageKey(key), JSON.stringify({ ...c, name: "", password: "", allowHostLoopback: undefined }));
}
