/**
 * Where the engine keeps things (XDG base directories):
 *   state   $XDG_STATE_HOME/bootc-console/vms/<name>/   record, keys, overlay, logs
 *   cache   $XDG_CACHE_HOME/bootc-console/              base disks, exported image roots, the CLI's code cache
 *   runtime $XDG_RUNTIME_DIR/bootc-console/<name>/      sockets (monitor, QMP, virtiofsd)
 * Runtime paths must stay under the 108-byte unix socket limit, which is why VM names
 * are short and sockets have short names. BOOTC_HOME moves everything (tests use it).
 */
import os from "node:os";
import path from "node:path";
import { validateName } from "./names.js";

export interface EnginePaths {
  state: string;
  cache: string;
  runtime: string;
}

export function enginePaths(env: NodeJS.ProcessEnv = process.env): EnginePaths {
  const home = env.HOME ?? os.homedir();
  const root = env.BOOTC_HOME;
  if (root) {
    return { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
  }
  const uid = process.getuid?.() ?? 0;
  // Without XDG_RUNTIME_DIR a user's sockets go under /tmp, where another user could create
  // the directory first: ensurePrivateDir() (private-dir.ts) checks who owns it before anything is put there.
  const runtimeBase = env.XDG_RUNTIME_DIR ?? (uid === 0 ? "/run" : fallbackRuntimeBase(uid));
  return {
    state: path.join(env.XDG_STATE_HOME ?? path.join(home, ".local", "state"), "bootc-console"),
    cache: path.join(env.XDG_CACHE_HOME ?? path.join(home, ".cache"), "bootc-console"),
    runtime: path.join(runtimeBase, "bootc-console"),
  };
}

/** Every VM has a directory here, named after it. */
export const vmsDir = (paths: EnginePaths = enginePaths()) => path.join(paths.state, "vms");

/** The base-disk cache: one directory per entry, made under a `.partial-<pid>` name and renamed when complete. */
export const disksDir = (paths: EnginePaths) => path.join(paths.cache, "disks");
export const diskEntryDir = (paths: EnginePaths, key: string) => path.join(disksDir(paths), key);
export const diskPartialDir = (paths: EnginePaths, key: string, pid: number) => path.join(disksDir(paths), `${key}.partial-${pid}`);
export const diskBuildLock = (paths: EnginePaths, key: string) => path.join(disksDir(paths), `${key}.lock`);

/** V8's code cache of the CLI's bundle (server/cli/code-cache.ts): one directory per build and Node version. */
export const cliCodeCacheDir = (paths: EnginePaths) => path.join(paths.cache, "cli-code");

/**
 * The root filesystems of images that live in another podman (images/remote-root.ts): one
 * directory per image id, unpacked in <id>.partial-<pid> and renamed when complete.
 */
export const rootfsDir = (paths: EnginePaths) => path.join(paths.cache, "rootfs");
export const rootfsEntryDir = (paths: EnginePaths, imageId: string) => path.join(rootfsDir(paths), imageId);
export const rootfsPartialDir = (paths: EnginePaths, imageId: string, pid: number) => path.join(rootfsDir(paths), `${imageId}.partial-${pid}`);
/** What an exported root is of (image name, connection, when): beside the root, never in the tree the guest sees. */
export const rootfsMetaFile = (paths: EnginePaths, imageId: string) => path.join(rootfsDir(paths), `${imageId}.json`);

/**
 * What this machine keeps of a VM that libvirt runs (locally or on another host): its SSH
 * key and pinned host key. Apart from vms/: the VM itself lives in libvirt, not here.
 */
export const libvirtVmDir = (paths: EnginePaths, name: string) => path.join(paths.state, "libvirt", validateName(name));

/** One rebuild at a time per VM name, whichever runtime runs it (the facade's lock, not a runtime's). */
export const rebuildLockFile = (paths: EnginePaths, name: string) => path.join(paths.state, "locks", `rebuild-${validateName(name)}.lock`);

/** What this machine keeps of a libvirt VM (the rest lives in libvirt, on its host). */
export function libvirtVmPaths(paths: EnginePaths, name: string) {
  const dir = libvirtVmDir(paths, name);
  return {
    dir,
    /** The VM's own SSH key (when bootc made one). */
    key: path.join(dir, "id_ed25519"),
    /** The guest's host key, pinned at the first connection after a boot. */
    knownHosts: path.join(dir, "known_hosts"),
    /** The URI of the host the VM was made on (found first by a lookup). */
    connection: path.join(dir, "connection"),
    /** The domain definition while `virsh define` reads it. */
    domainXml: path.join(dir, "domain.xml"),
    /** --cloudinit: the private copy of the directory, and the seed ISO made from it before its upload. */
    cloudInit: path.join(dir, "cloud-init"),
    seedIso: path.join(dir, "seed.iso"),
  };
}
/** SSH configuration and tunnel sockets for libvirt hosts. "_libvirt" cannot be a VM's name. */
export const libvirtRunDir = (paths: EnginePaths) => path.join(paths.runtime, "_libvirt");
/**
 * The last few boots' reports of a VM (engine/insight), whichever runtime runs it: apart from
 * vms/, which only the direct runtime keeps. Removed with the VM.
 */
export const bootReportsFile = (paths: EnginePaths, name: string) => path.join(paths.state, "boot-reports", `${validateName(name)}.json`);
/** Saved podman connections: which podmans the web console's Images page offers (images/saved-podmans.ts). */
export const podmansFile = (paths: EnginePaths) => path.join(paths.state, "podmans.json");
/** Saved libvirt connections (`bootc hosts`). */
export const hostsFile = (paths: EnginePaths) => path.join(paths.state, "hosts.json");
/** Serialises uploads of one base disk to one host (see runtime/libvirt/volumes.ts). */
export const uploadLock = (paths: EnginePaths, id: string) => path.join(paths.cache, "uploads", `${id}.lock`);

/** Where the demo image's root filesystem is assembled (not /tmp: it may be a small tmpfs). */
export const demoWorkRoot = (paths: EnginePaths = enginePaths()) => path.join(paths.cache, "work");

/**
 * Running `bootc serve` processes register here (pid + start identity), so `serve --rotate`
 * can find them. "_servers", like "_pulls", cannot be a VM's name, so it never meets a VM's
 * runtime directory (a VM named "servers" shared one with them).
 */
export const serversDir = (paths: EnginePaths = enginePaths()) => path.join(paths.runtime, "_servers");
export const serverFile = (port: number, paths: EnginePaths = enginePaths()) => path.join(serversDir(paths), `${port}.json`);
/** A private page that forwards the browser to the sign-in URL, so the token is never on an opener's command line. */
export const serverOpenPage = (port: number, paths: EnginePaths = enginePaths()) => path.join(serversDir(paths), `${port}-open.html`);

/**
 * The socket of a `podman system service` that serves one pull. "_pulls" cannot be a VM's
 * name (names start with a letter or digit), so it never meets a VM's runtime directory.
 */
export const pullSocket = (paths: EnginePaths, id: string) => path.join(paths.runtime, "_pulls", `${id}.sock`);

/** Where the runtime root goes without XDG_RUNTIME_DIR; core/private-dir.ts checks it too. */
export const fallbackRuntimeBase = (uid: number) => path.join(os.tmpdir(), `bootc-console-${uid}`);

export interface VmPaths {
  dir: string;
  record: string;
  key: string;
  knownHosts: string;
  serialLog: string;
  /** Disk mode: the VM's qcow2 overlay and its UEFI variable store. */
  overlay: string;
  efiVars: string;
  monitorLog: string;
  /** The command lock and the rebuild lock (engine/lockfile.ts). */
  lock: string;
  /** --password: its crypt(3) hash (mode 0600); the clear text is never written. */
  passwordHash: string;
  /** --ks: the user's kickstart as it was at `run` (later edits do not change the VM). */
  kickstart: string;
  /** --cloudinit: a copy of the user's NoCloud directory. */
  cloudInit: string;
  runDir: string;
  /** Credential files qemu reads at boot (engine/provision/transport.ts). */
  credentialsDir: string;
  /** --cloudinit cdrom: the seed ISO made from cloudInit at boot. */
  cloudInitSeed: string;
  monitorSock: string;
  qmpSock: string;
  /** passt's log of this boot (the guest's DHCP ack is read from it: runtime/direct/passt-log.ts). */
  passtLog: string;
  /** virtiofsd socket for share `index` (0 is the root filesystem in ephemeral mode). */
  fsSock(index: number): string;
  /** The virtiofsd socket of the root a soft reboot plugs in (its generation: 1, 2, …). */
  rootSock(generation: number): string;
}

/** Every path made from a VM name is made here, so the name is checked here: `../x` never reaches the filesystem. */
export function vmPaths(name: string, paths: EnginePaths = enginePaths()): VmPaths {
  validateName(name);
  const dir = path.join(vmsDir(paths), name);
  const runDir = path.join(paths.runtime, name);
  return {
    dir,
    record: path.join(dir, "vm.json"),
    key: path.join(dir, "id_ed25519"),
    knownHosts: path.join(dir, "known_hosts"),
    serialLog: path.join(dir, "serial.log"),
    overlay: path.join(dir, "disk.qcow2"),
    efiVars: path.join(dir, "efi-vars.fd"),
    monitorLog: path.join(dir, "monitor.log"),
    lock: path.join(dir, "lock"),
    passwordHash: path.join(dir, "password.hash"),
    kickstart: path.join(dir, "kickstart.ks"),
    cloudInit: path.join(dir, "cloud-init"),
    runDir,
    credentialsDir: path.join(runDir, "credentials"),
    cloudInitSeed: path.join(runDir, "cidata.iso"),
    monitorSock: path.join(runDir, "mon.sock"),
    qmpSock: path.join(runDir, "qmp.sock"),
    passtLog: path.join(runDir, "passt.log"),
    fsSock: (index) => path.join(runDir, `fs${index}.sock`),
    rootSock: (generation) => path.join(runDir, `root${generation}.sock`),
  };
}
