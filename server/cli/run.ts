import { Engine } from "../../engine/vm/manager.js";
import { ACTIVE_STATES } from "../../engine/core/record.js";
import { BOOTC_FAILED, runInGuest } from "./run-command.js";
import { formatOptions, runFlagOptions, runFlagRows, runOptionsFromFlags, type FlagValues } from "./run-flags.js";
import { markBarePassword, promptPassword, readPasswordFile } from "./password.js";
import { formatProgress, formatPullProgress } from "./progress.js";
import type { VmEvent, VmInfo } from "../../engine/core/vm.js";
import { remoteCommand } from "../../engine/ssh/command.js";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import { parseCommand, printError, printJson, progressLine } from "./output.js";
import { interactiveConsole } from "./console.js";
import { interactiveSsh } from "./ssh.js";
import { podmanFromFlags } from "./podman-flags.js";
import { describePodman } from "../../engine/core/podman-connection.js";

/** The flags that are about the command rather than the VM. */
const COMMAND_ROWS: Array<[string, string]> = [
  [
    "-- CMD [ARGS…]",
    "run CMD in the guest once it answers SSH, with its output streamed here, then stop the VM (--rm: and remove it); bootc exits with CMD's exit code (128+N if signal N killed it; 0 if the guest powered itself off; 125 if bootc itself failed)",
  ],
  ["--execute 'CMD'", "the same for a shell command line"],
  ["-i, --interactive", 'attach: SSH once ready (serial console if no sshd); with --rm, "bootc run -i --rm IMAGE" is boot, work, exit, gone'],
  ["--json", "print the VM record as JSON when ready (no progress text); with --watch, every event of the loop as one JSON line"],
  [
    "--watch DIR",
    "build DIR's Containerfile, boot it, and on every change under DIR rebuild; a new image reboots the VM into it (same name, ports, shares, key); a failed build leaves the VM running. With another podman (--connection, -r, CONTAINER_HOST) DIR is built there and the image stays there. Ctrl+C stops.",
  ],
  ["-t, --tag TAG", "with --watch: the image name (default localhost/<dir>:latest)"],
];

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
${formatOptions([...runFlagRows(), ...COMMAND_ROWS])}

Examples:
  bootc run localhost/bootc-demo
  bootc run -i --rm --bind ./src:/mnt/src:ro localhost/bootc-demo`;

/** The command's own flags (the VM's come from run-flags.ts). */
const COMMAND_FLAGS = {
  interactive: { type: "boolean", short: "i" },
  execute: { type: "string" },
  json: { type: "boolean" },
  watch: { type: "string" },
  tag: { type: "string", short: "t" },
} as const;

/** The password flags, read once: asking twice (run, then --watch's reboot) would be wrong. */
async function passwordOf(values: FlagValues, password: string | undefined): Promise<string | undefined> {
  const given = [password !== undefined, !!values["password-prompt"], values["password-file"] !== undefined].filter(Boolean).length;
  if (given > 1) throw new BootcError("INVALID_ARGUMENT", "give one of --password, --password=VALUE and --password-file", "pick one way to give the password");
  if (values["password-prompt"]) return promptPassword();
  if (typeof values["password-file"] === "string") return readPasswordFile(values["password-file"]);
  return password;
}

/** The VM options shared by `run IMAGE` and `run --watch DIR`. */
async function vmOptions(values: FlagValues) {
  const opts = runOptionsFromFlags(values);
  if (values["gen-ssh-identity"] && (opts.injectUserKey || opts.identity)) {
    throw new BootcError("INVALID_ARGUMENT", "--gen-ssh-identity makes a new key: it cannot be combined with --inj-ssh-identity or --ssh-identity", "pick one");
  }
  // --connect, else BOOTC_CONNECT; an empty --connect= means this host's own runtime.
  const connect = opts.connect ?? process.env.BOOTC_CONNECT;
  // The podman that has the image: --connection, -r, else CONTAINER_HOST, as podman decides it.
  const podman = podmanFromFlags(opts.podman, values.remote === true);
  return {
    ...opts,
    ...(podman ? { podman } : {}),
    password: await passwordOf(values, opts.password),
    connect,
    // A libvirt VM is a disk-mode VM: with a connection, disk mode goes without saying.
    mode: opts.disk ? ("disk" as const) : (opts.mode ?? (connect ? ("disk" as const) : undefined)),
  };
}

/** Where the VM's SSH port is: this host's loopback, or a remote libvirt host's. */
function sshWhere(vm: VmInfo): string {
  return vm.connection && vm.hostName && !vm.connection.startsWith("qemu:") ? `port ${vm.sshPort} on ${vm.hostName}'s loopback` : `127.0.0.1:${vm.sshPort}`;
}

/** `bootc run --watch DIR`: runs in the foreground until Ctrl+C (or SIGTERM), then stops the VM. */
async function watchMain(dir: string, tag: string | undefined, extra: string[], values: FlagValues, json = false): Promise<number> {
  if (extra.length)
    throw new BootcError("INVALID_ARGUMENT", `with --watch, give no IMAGE (got ${extra.join(" ")})`, "the image is built from DIR; name it with -t TAG");
  const { WatchLoop } = await import("../../engine/vm/watch.js");
  const { defaultTag } = await import("./build.js");
  const run = await vmOptions(values);
  const engine = new Engine();
  const loop = new WatchLoop(engine, {
    dir,
    tag: tag ?? defaultTag(dir),
    run,
    onEvent: (e) => {
      // --json: one JSON object per line per event, for scripts that follow the loop.
      if (json) return console.log(JSON.stringify({ at: new Date().toISOString(), ...e }));
      const t = new Date().toISOString().slice(11, 19);
      if (e.type === "build-log") console.log(`    ${e.line}`);
      else if (e.type === "build-started") console.log(`[${t}] building (${e.reason})`);
      else if (e.type === "build-failed") console.log(`[${t}] build failed; the VM keeps running the previous image:\n${e.error}`);
      else if (e.type === "watch-failed") console.log(`[${t}] ${e.error}`);
      else if (e.type === "image-unchanged") console.log(`[${t}] image unchanged: no reboot`);
      else if (e.type === "warning") console.log(`[${t}] warning: ${e.message}`);
      else if (e.type === "rebooting")
        console.log(
          `[${t}] new image ${e.imageId.slice(0, 12)}: ${e.soft ? "soft-rebooted the VM into it (same kernel, new root)" : "rebooting the VM into it"}${e.removedImageId ? ` (removed the image it replaced, ${e.removedImageId.slice(0, 12)})` : ""}`,
        );
      else console.log(`[${t}] ${e.vm.name} is ready (ssh on ${sshWhere(e.vm)}); watching ${dir} — Ctrl+C stops`);
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
    console.log(
      JSON.stringify({ at: new Date().toISOString(), type: "failed", error: e instanceof BootcError ? e.toJSON() : { code: "INTERNAL", message: String(e) } }),
    );
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
  const parsed = parseCommand(
    {
      args: markBarePassword(dash >= 0 ? argv.slice(0, dash) : argv),
      allowPositionals: true,
      options: { ...runFlagOptions(), ...COMMAND_FLAGS },
    },
    HELP,
  );
  const { positionals } = parsed;
  const values: FlagValues & typeof parsed.values = parsed.values;
  if (values.watch !== undefined) return watchMain(values.watch, values.tag, positionals, values, !!values.json);
  if (command.length && values.execute !== undefined)
    throw new BootcError(
      "INVALID_ARGUMENT",
      "give the command after -- or with --execute, not both",
      "bootc run IMAGE -- CMD ARGS…, or bootc run IMAGE --execute 'CMD'",
    );
  if (dash >= 0 && !command.length) throw new BootcError("INVALID_ARGUMENT", "no command after --", "bootc run IMAGE -- CMD ARGS…");
  const oneShot = command.length ? remoteCommand(command) : values.execute;
  if (oneShot !== undefined && (values.interactive || values.json))
    throw new BootcError("INVALID_ARGUMENT", "a command to run cannot be combined with -i or --json", "drop -i/--json, or the command");
  const [image = "", ...extra] = positionals;
  if ((!image && !values.disk) || extra.length)
    throw new BootcError(
      "INVALID_ARGUMENT",
      image ? `unexpected arguments: ${extra.join(" ")}` : "no image given",
      "usage: bootc run [options] IMAGE (see bootc images), or bootc run --disk FILE",
    );
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
async function bootImage(image: string, values: FlagValues, oneShot: string | undefined): Promise<number> {
  const engine = new Engine();
  const quiet = !!values.json;
  const say = (s: string) => quiet || console.error(s);
  const pullBar = progressLine(quiet);
  const exportBar = progressLine(quiet);
  const t0 = Date.now();
  const bar = progressLine(quiet);
  const progress = (e: VmEvent) => {
    const t = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
    if (e.type === "timeline") bar.done(() => say(`  ${t}s  ${e.event}`));
    else if (e.type === "progress") bar.show(`  ${t}s  ${formatProgress(e)}`);
    else if (e.type === "warning") say(`  warning: ${e.message}`);
  };
  let warming = false;
  const vm = await engine.createVm(
    { image, ...(await vmOptions(values)) },
    {
      pull: {
        onLine: (line) => (line.startsWith("pulling ") ? say(line.replace(/^pulling /, "Pulling ")) : undefined),
        onProgress: (p) => pullBar.show(`  ${formatPullProgress(p)}`),
      },
      // An image of another podman: its root filesystem comes into the local cache once.
      onExport: (p) => exportBar.show(`  ${formatProgress(p)}`),
      // --warm's first run: the cold boot whose state later runs resume.
      onWarm: (e) => {
        if (!warming) say(`No warm start saved for ${image} with these options: booting one cold to save it`);
        warming = true;
        progress(e);
      },
    },
  );
  pullBar.done();
  exportBar.done();
  const how = vm.mode === "disk" ? `, disk mode: ${vm.disk?.builder} builder` : "";
  const where = (vm.hostName ? ` on ${vm.hostName} (libvirt)` : "") + (vm.podman ? ` of ${describePodman(vm.podman)}` : "");
  const warm = vm.timeline.some((t) => t.event.startsWith("warm-entry-"));
  say(
    `${warm ? "Resuming" : "Booting"} ${vm.name} from ${vm.image}${where}${warm ? " (warm start)" : ""} (${vm.accel.toUpperCase()}, ${vm.cpus} vCPU, ${vm.memoryMiB} MiB${how})`,
  );
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
    // Stopped here if it still runs (SSH never answered); a boot that failed has ended already.
    await engine.stopVm(vm.name, { force: true }).catch(() => undefined);
    const left = await engine.getVm(vm.name).catch(() => undefined);
    // Still running (the stop failed): the error as it was, with no claim about the VM.
    if (!isBootcError(e) || (left && ACTIVE_STATES.includes(left.effectiveState))) throw e;
    const removed = (values.rm || values.rmi) && !left;
    throw new BootcError(
      e.code,
      e.message,
      removed ? "it was removed (--rm); to look at it on its serial console, boot it without --rm" : `it was stopped; its serial log: bootc logs ${vm.name}`,
    );
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
  console.log(`${vm.name} is ${hasSsh ? `ready (ssh on ${sshWhere(ready)})` : "up (no sshd in the image)"}`);
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
    // An ephemeral root has nothing to keep, nor a disk that --rm throws away (a warm one-shot's
    // private copy); a disk VM that stays shuts down properly.
    const current = await engine.getVm(vm.name).catch(() => undefined);
    const keeps = vm.mode === "disk" && !vm.removeOnStop;
    if (current && ACTIVE_STATES.includes(current.effectiveState))
      await engine.stopVm(vm.name, keeps ? { timeoutSec: 60 } : { force: true }).catch(() => undefined);
  }
}
