import { Engine } from "../../engine/vm/manager.js";
import { ACTIVE_STATES } from "../../engine/core/record.js";
import { BOOTC_FAILED, runInGuest } from "./run-command.js";
import { PULL_POLICIES } from "../../engine/images/pull.js";
import { parseBind, parseCloudInit, parseMemory, parsePortForward, parseSize } from "../../engine/core/options.js";
import { CREDENTIAL_TRANSPORTS } from "../../engine/provision/transport.js";
import { markBarePassword, promptPassword, readPasswordFile } from "./password.js";
import { formatProgress, formatPullProgress } from "./progress.js";
import type { VmEvent, VmInfo } from "../../engine/core/vm.js";
import { remoteCommand } from "../../engine/ssh/command.js";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import { int, oneOf, parseCommand, printError, printJson, progressLine } from "./output.js";
import { interactiveConsole } from "./console.js";
import { interactiveSsh } from "./ssh.js";

const HELP = `Usage: bootc run [options] IMAGE
       bootc run [--rm] [options] IMAGE -- CMD [ARGS…]     (or --execute 'CMD')
       bootc run --mode disk [--builder auto|direct|install] [--disk-size SIZE] IMAGE
       bootc run --disk FILE.qcow2|FILE.raw [options]
       bootc run --watch DIR [-t TAG] [options]

Boots IMAGE as a VM. By default without installing it (ephemeral mode): the image's own
kernel and initramfs boot with its root filesystem served read-only from podman storage
by virtiofsd, under a throwaway writable layer; nothing the guest writes is kept.
With --mode disk the VM gets a persistent disk: a base disk made once per image (cached;
a second VM of the same image reuses it) under the VM's own qcow2 overlay, so stop and
start (bootc start) keep what the guest wrote. --disk boots a disk image you already have
(UEFI), never writing to your file.
An SSH key is made for the VM and injected with systemd credentials. Returns when the
guest answers SSH (or has booted, for an image without sshd) and leaves the VM running;
-i attaches to it instead.

Options:
  --pull POLICY          missing (default): pull the image first when it is not in local
                         storage, with progress; always: pull every time; never: only use
                         local storage
  --name NAME            VM name (default: a generated one)
  --replace              with --name: stop and remove a VM of that name first (only once
                         everything else has been checked)
  --cpus N               virtual CPUs (default 2)
  --memory SIZE          memory, e.g. 2G or 1536M (default 2G)
  -p, --publish H:G      forward host port H (on 127.0.0.1) to guest port G; repeatable
  --bind HOST:GUEST[:ro] share a host directory (virtiofs), mounted in the guest at GUEST;
                         read-write unless :ro; repeatable
  --karg ARG             extra kernel argument; repeatable (ephemeral and direct-built
                         disks; a UEFI boot takes its arguments from the disk)
  -u, --user USER        the user to log in as over SSH and on the console (default
                         root); created at boot with a home and sudo rights when the
                         image lacks it
  --gen-ssh-identity     make a new key pair for this VM and inject it (the default)
  --inj-ssh-identity     inject your own key (~/.ssh/id_ed25519, else ~/.ssh/id_rsa) so
                         plain ssh -p PORT USER@localhost works too
  --ssh-identity FILE    use and inject this private key (FILE.pub or derived)
  --password             ask for a password for USER (for the serial console when the
                         image has no sshd); only its hash is kept. --password=VALUE
                         takes it from the command line (visible to ps: avoid)
  --password-file FILE   the password is the first line of FILE
  --autologin            log USER in on the serial console without a password
  --ks FILE              apply a kickstart's users, rootpw, sshkey, timezone, keyboard,
                         lang, network --hostname and %post at first boot (guest
                         systemd >= 256); disk layout and packages are refused
  --cloudinit [cdrom:|imds:]DIR
                         hand DIR (user-data, meta-data, network-config) to cloud-init:
                         as a "cidata" seed ISO (cdrom, the default) or over HTTP from
                         the host (imds)
  --accel kvm|hvf|tcg    override the accelerator (default: detected; env BOOTC_ACCEL)
  --timeout SECONDS      how long to wait for SSH (default 600); then bootc exits 1 and
                         the VM runs on for bootc console (with --rm or a command: it goes)
  --mode ephemeral|disk  ephemeral (default) or a persistent disk
  --builder B            disk mode: auto (default: install if the image has bootc and
                         you are root, else direct), direct (mkfs.ext4 -d + the image's
                         kernel; no loop devices, works rootless), install (bootc install
                         to-disk in a privileged container; root only)
  --disk-size SIZE       disk mode: size of the VM's disk, e.g. 20G (default 10G)
  --filesystem FS        disk mode with --builder install: ext4 (default), xfs or btrfs
  --disk FILE            boot an existing .qcow2 or .raw disk (UEFI) under an overlay
  --connect HOST|URI     run the VM as a libvirt domain (disk mode): a saved host
                         (bootc hosts) or a URI, qemu:///system on this machine or
                         qemu+ssh://USER@HOST[:PORT]/system on another (the disk is made
                         here and uploaded there once per image). Default: BOOTC_CONNECT
                         if set, else bootc's own runtime (no daemon)
  --autostart            with --connect: libvirt starts the VM when its host boots
  --rm                   remove the VM when it stops
  --rmi                  like --rm, and also remove the image and its cached base disks
                         (unless another VM uses them)
  -- CMD [ARGS…]          run CMD in the guest once it answers SSH, with its output
                         streamed here, then stop the VM (--rm: and remove it); bootc
                         exits with CMD's exit code (128+N if signal N killed it; 0 if
                         the guest powered itself off; 125 if bootc itself failed)
  --execute 'CMD'        the same for a shell command line
  -i, --interactive      attach: SSH once ready (serial console if no sshd); with
                         --rm, "bootc run -i --rm IMAGE" is boot, work, exit, gone
  --json                 print the VM record as JSON when ready (no progress text); with
                         --watch, every event of the loop as one JSON line
  --watch DIR            build DIR's Containerfile, boot it, and on every change under DIR
                         rebuild; a new image reboots the VM into it (same name, ports,
                         shares, key); a failed build leaves the VM running. Ctrl+C stops.
  -t, --tag TAG          with --watch: the image name (default localhost/<dir>:latest)

Examples:
  bootc run localhost/bootc-demo
  bootc run -i --rm --bind ./src:/mnt/src:ro localhost/bootc-demo`;

type RunFlags = {
  name?: string; cpus?: string; memory?: string; publish?: string[]; bind?: string[]; karg?: string[]; user?: string;
  "ssh-identity"?: string; "gen-ssh-identity"?: boolean; "inj-ssh-identity"?: boolean; password?: string; "password-prompt"?: boolean;
  "password-file"?: string; autologin?: boolean; ks?: string; cloudinit?: string; "credentials-via"?: string; accel?: string; timeout?: string; rm?: boolean; rmi?: boolean; pull?: string; replace?: boolean;
  mode?: string; builder?: string; "disk-size"?: string; filesystem?: string; disk?: string; connect?: string; autostart?: boolean;
};

/** The password flags, read once: asking twice (run, then --watch's reboot) would be wrong. */
async function passwordOf(values: RunFlags): Promise<string | undefined> {
  const given = [values.password !== undefined, !!values["password-prompt"], values["password-file"] !== undefined].filter(Boolean).length;
  if (given > 1) throw new BootcError("INVALID_ARGUMENT", "give one of --password, --password=VALUE and --password-file", "pick one way to give the password");
  if (values["password-prompt"]) return promptPassword();
  if (values["password-file"] !== undefined) return readPasswordFile(values["password-file"]);
  return values.password;
}

/** --connect, else BOOTC_CONNECT; an empty --connect= means this host's own runtime. */
function connectOf(values: RunFlags): string | undefined {
  const c = values.connect ?? process.env.BOOTC_CONNECT;
  return c ? c : undefined;
}

/** The VM options shared by `run IMAGE` and `run --watch DIR`. */
async function vmOptions(values: RunFlags) {
  if (values["gen-ssh-identity"] && (values["inj-ssh-identity"] || values["ssh-identity"])) {
    throw new BootcError("INVALID_ARGUMENT", "--gen-ssh-identity makes a new key: it cannot be combined with --inj-ssh-identity or --ssh-identity", "pick one");
  }
  return {
    name: values.name,
    cpus: int("cpus", values.cpus),
    memoryMiB: values.memory === undefined ? undefined : parseMemory(values.memory),
    forwards: (values.publish ?? []).map(parsePortForward),
    binds: (values.bind ?? []).map(parseBind),
    kargs: values.karg ?? [],
    user: values.user,
    identity: values["ssh-identity"],
    injectUserKey: !!values["inj-ssh-identity"],
    password: await passwordOf(values),
    autologin: !!values.autologin,
    kickstart: values.ks,
    cloudInit: values.cloudinit === undefined ? undefined : parseCloudInit(values.cloudinit),
    credentialTransport: oneOf("credentials-via", values["credentials-via"], CREDENTIAL_TRANSPORTS),
    removeOnStop: !!values.rm,
    removeImageOnStop: !!values.rmi,
    // A libvirt VM is a disk-mode VM: with a connection, disk mode goes without saying.
    mode: values.disk ? ("disk" as const) : (oneOf("mode", values.mode, ["ephemeral", "disk"] as const) ?? (connectOf(values) ? ("disk" as const) : undefined)),
    connect: connectOf(values),
    autostart: !!values.autostart,
    builder: oneOf("builder", values.builder, ["auto", "direct", "install"] as const),
    diskSizeBytes: values["disk-size"] === undefined ? undefined : parseSize(values["disk-size"]),
    filesystem: oneOf("filesystem", values.filesystem, ["ext4", "xfs", "btrfs"] as const),
    disk: values.disk,
    accel: values.accel,
    readyTimeoutSec: int("timeout", values.timeout),
    pull: oneOf("pull", values.pull, PULL_POLICIES),
    replace: !!values.replace,
  };
}

/** `bootc run --watch DIR`: runs in the foreground until Ctrl+C (or SIGTERM), then stops the VM. */
async function watchMain(dir: string, tag: string | undefined, extra: string[], values: RunFlags, json = false): Promise<number> {
  if (extra.length) throw new BootcError("INVALID_ARGUMENT", `with --watch, give no IMAGE (got ${extra.join(" ")})`, "the image is built from DIR; name it with -t TAG");
  const { WatchLoop } = await import("../../engine/vm/watch.js");
  const { defaultTag } = await import("./build.js");
  const engine = new Engine();
  const loop = new WatchLoop(engine, {
    dir,
    tag: tag ?? defaultTag(dir),
    run: await vmOptions(values),
    onEvent: (e) => {
      // --json: one JSON object per line per event, for scripts that follow the loop.
      if (json) return console.log(JSON.stringify({ at: new Date().toISOString(), ...e }));
      const t = new Date().toISOString().slice(11, 19);
      if (e.type === "build-log") console.log(`    ${e.line}`);
      else if (e.type === "build-started") console.log(`[${t}] building (${e.reason})`);
      else if (e.type === "build-failed") console.log(`[${t}] build failed; the VM keeps running the previous image:\n${e.error}`);
      else if (e.type === "watch-failed") console.log(`[${t}] ${e.error}`);
      else if (e.type === "image-unchanged") console.log(`[${t}] image unchanged: no reboot`);
      else if (e.type === "rebooting") console.log(`[${t}] new image ${e.imageId.slice(0, 12)}: rebooting the VM into it${e.removedImageId ? ` (removed the image it replaced, ${e.removedImageId.slice(0, 12)})` : ""}`);
      else console.log(`[${t}] ${e.vm.name} is ready (ssh on 127.0.0.1:${e.vm.sshPort}); watching ${dir} — Ctrl+C stops`);
    },
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = () => void loop.stop().then(resolve);
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  try {
    await loop.start();
  } catch (e) {
    if (!json) throw e;
    // Still one JSON object per line: the error is the loop's last event.
    console.log(JSON.stringify({ at: new Date().toISOString(), type: "failed", error: e instanceof BootcError ? e.toJSON() : { code: "INTERNAL", message: String(e) } }));
    return 1;
  }
  await stopped;
  if (json) console.log(JSON.stringify({ at: new Date().toISOString(), type: "stopped", name: loop.name }));
  else console.log(`stopped ${loop.name}`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  // Everything after "--" is the command to run in the guest.
  const dash = argv.indexOf("--");
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const { values, positionals } = parseCommand(
    {
      args: markBarePassword(dash >= 0 ? argv.slice(0, dash) : argv),
      allowPositionals: true,
      options: {
        pull: { type: "string" },
        name: { type: "string" },
        replace: { type: "boolean" },
        cpus: { type: "string" },
        memory: { type: "string" },
        publish: { type: "string", short: "p", multiple: true },
        bind: { type: "string", multiple: true },
        karg: { type: "string", multiple: true },
        user: { type: "string", short: "u" },
        "ssh-identity": { type: "string" },
        "gen-ssh-identity": { type: "boolean" },
        "inj-ssh-identity": { type: "boolean" },
        password: { type: "string" },
        "password-prompt": { type: "boolean" },
        "password-file": { type: "string" },
        autologin: { type: "boolean" },
        ks: { type: "string" },
        cloudinit: { type: "string" },
        // Not in --help: forces how credentials reach the guest (tests, odd firmware).
        "credentials-via": { type: "string" },
        accel: { type: "string" },
        timeout: { type: "string" },
        rm: { type: "boolean" },
        rmi: { type: "boolean" },
        mode: { type: "string" },
        builder: { type: "string" },
        "disk-size": { type: "string" },
        filesystem: { type: "string" },
        disk: { type: "string" },
        connect: { type: "string" },
        autostart: { type: "boolean" },
        interactive: { type: "boolean", short: "i" },
        execute: { type: "string" },
        json: { type: "boolean" },
        watch: { type: "string" },
        tag: { type: "string", short: "t" },
      },
    },
    HELP,
  );
  if (values.watch !== undefined) return watchMain(values.watch, values.tag, positionals, values, !!values.json);
  if (command.length && values.execute !== undefined) throw new BootcError("INVALID_ARGUMENT", "give the command after -- or with --execute, not both", "bootc run IMAGE -- CMD ARGS…, or bootc run IMAGE --execute 'CMD'");
  if (dash >= 0 && !command.length) throw new BootcError("INVALID_ARGUMENT", "no command after --", "bootc run IMAGE -- CMD ARGS…");
  const oneShot = command.length ? remoteCommand(command) : values.execute;
  if (oneShot !== undefined && (values.interactive || values.json)) throw new BootcError("INVALID_ARGUMENT", "a command to run cannot be combined with -i or --json", "drop -i/--json, or the command");
  const [image = "", ...extra] = positionals;
  if ((!image && !values.disk) || extra.length) throw new BootcError("INVALID_ARGUMENT", image ? `unexpected arguments: ${extra.join(" ")}` : "no image given", "usage: bootc run [options] IMAGE (see bootc images), or bootc run --disk FILE");
  if (oneShot === undefined) return bootImage(image, values, undefined);
  // With a command, bootc's own failures exit 125, apart from the command's own codes.
  try {
    return await bootImage(image, values, oneShot);
  } catch (e) {
    printError(e, false);
    return BOOTC_FAILED;
  }
}

/** Boots IMAGE and waits until it is ready; then attaches, prints, or runs the one-shot command. */
async function bootImage(image: string, values: RunFlags & { interactive?: boolean; json?: boolean }, oneShot: string | undefined): Promise<number> {
  const engine = new Engine();
  const quiet = !!values.json;
  const say = (s: string) => quiet || console.error(s);
  const pullBar = progressLine(quiet);
  const t0 = Date.now();
  const bar = progressLine(quiet);
  const progress = (e: VmEvent) => {
    const t = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
    if (e.type === "timeline") bar.done(() => say(`  ${t}s  ${e.event}`));
    else if (e.type === "progress") bar.show(`  ${t}s  ${formatProgress(e)}`);
    else if (e.type === "warning") say(`  warning: ${e.message}`);
  };
  const vm = await engine.createVm(
    { image, ...(await vmOptions(values)) },
    {
      pull: {
        onLine: (line) => (line.startsWith("pulling ") ? say(line.replace(/^pulling /, "Pulling ")) : undefined),
        onProgress: (p) => pullBar.show(`  ${formatPullProgress(p)}`),
      },
      onEvent: progress, // a libvirt VM's disk and upload, before it boots
    },
  );
  pullBar.done();
  const how = vm.mode === "disk" ? `, disk mode: ${vm.disk?.builder} builder` : "";
  const where = vm.hostName ? ` on ${vm.hostName} (libvirt)` : "";
  say(`Booting ${vm.name} from ${vm.image}${where} (${vm.accel.toUpperCase()}, ${vm.cpus} vCPU, ${vm.memoryMiB} MiB${how})`);
  if (vm.accel === "tcg") say(`  note: ${vm.accelReason}`);
  // Ctrl+C while booting stops the VM rather than leaving it half-watched.
  const onInt = () => void engine.stopVm(vm.name, { force: true }).finally(() => process.exit(130));
  process.once("SIGINT", onInt);
  let ready;
  try {
    ready = await engine.waitFor(vm.name, "ssh-ready", progress);
  } catch (e) {
    // A boot-and-power-off check (--karg systemd.unit=poweroff.target): the guest did what it was booted for.
    if (isBootcError(e) && e.code === "GUEST_POWERED_OFF") {
      if (values.json) printJson(await engine.getVm(vm.name).catch(() => ({ name: vm.name, guestPoweredOff: true })));
      say(`${vm.name}: the guest powered itself off`);
      return 0;
    }
    // A VM whose SSH never answered runs on for its serial console, unless it was booted for
    // one command or to go when done: then it goes with its failed boot.
    if (oneShot === undefined && !values.rm && !values.rmi) throw e;
    const stopped = await engine.stopVm(vm.name, { force: true }).then(() => true, () => false);
    if (!stopped || !isBootcError(e)) throw e;
    throw new BootcError(e.code, e.message, values.rm || values.rmi ? "it was removed (--rm); to look at it on its serial console, boot it without --rm" : `it was stopped; its serial log: bootc logs ${vm.name}`);
  } finally {
    process.off("SIGINT", onInt);
  }
  const hasSsh = ready.effectiveState === "ssh-ready";
  if (oneShot !== undefined) return oneShotRun(engine, ready, oneShot, say);
  if (values.interactive) {
    const code = hasSsh ? await interactiveSsh(engine, vm.name, []) : await interactiveConsole(engine, vm.name);
    // --rmi implies --rm: the VM (and then its image) goes when the session ends.
    if (values.rm || values.rmi) await engine.stopVm(vm.name, { timeoutSec: 30 }).catch(() => undefined);
    return code;
  }
  if (values.json) {
    printJson(ready);
    return 0;
  }
  const sshWhere = ready.connection && ready.hostName && !ready.connection.startsWith("qemu:") ? `port ${ready.sshPort} on ${ready.hostName}'s loopback` : `127.0.0.1:${ready.sshPort}`;
  console.log(`${vm.name} is ${hasSsh ? `ready (ssh on ${sshWhere})` : "up (no sshd in the image)"}`);
  if (hasSsh) console.log(`  bootc ssh ${vm.name}          # shell\n  bootc ssh ${vm.name} -- CMD   # run a command`);
  console.log(`  bootc console ${vm.name}      # serial console (detach: Ctrl+])\n  bootc stop ${vm.name}`);
  return 0;
}

/**
 * Runs the command, then ends the VM: it was booted for this command alone. --rm removes
 * it as it stops; without --rm it stays, stopped, for bootc logs and inspect.
 */
async function oneShotRun(engine: Engine, vm: VmInfo, command: string, say: (s: string) => void): Promise<number> {
  const onInt = () => void engine.stopVm(vm.name, { force: true }).finally(() => process.exit(130));
  process.once("SIGINT", onInt);
  try {
    return await runInGuest(engine, vm, command, say);
  } catch (e) {
    printError(e, false);
    return BOOTC_FAILED;
  } finally {
    process.off("SIGINT", onInt);
    // An ephemeral root has nothing to keep; a disk VM shuts down properly.
    const current = await engine.getVm(vm.name).catch(() => undefined);
    if (current && ACTIVE_STATES.includes(current.effectiveState)) await engine.stopVm(vm.name, vm.mode === "disk" ? { timeoutSec: 60 } : { force: true }).catch(() => undefined);
  }
}
