/**
 * The `bootc` command. Kept light on purpose: each command's module is imported only
 * when that command runs, so `bootc --help` and `bootc doctor --json` load neither Next
 * nor React (the web console is loaded only by `bootc serve`).
 */
import { printError } from "./cli/output.js";

interface CommandEntry {
  summary: string;
  load: () => Promise<{ main: (argv: string[], commands: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  serve: { summary: "start the web console (prints a URL with a sign-in token)", load: () => import("./cli/serve.js") },
  run: { summary: "boot an image as a VM (ephemeral, or --mode disk to keep a disk)", load: () => import("./cli/run.js") },
  boot: { summary: "the same as run (podman-bootc's name for it)", load: () => import("./cli/run.js") },
  test: { summary: "smoke-test an image for CI: boot, wait for systemd, report failed units, remove", load: () => import("./cli/test.js") },
  start: { summary: "boot a stopped VM again (a disk VM keeps its disk)", load: () => import("./cli/start.js") },
  list: { summary: "list VMs", load: () => import("./cli/list.js") },
  ssh: { summary: "open a shell in a VM, or run a command there", load: () => import("./cli/ssh.js") },
  console: { summary: "attach to a VM's serial console", load: () => import("./cli/console.js") },
  logs: { summary: "print a VM's serial log (-f to follow)", load: () => import("./cli/logs.js") },
  stop: { summary: "shut a VM down (ACPI, then kill after a timeout)", load: () => import("./cli/stop.js") },
  rm: { summary: "remove a VM and everything it owns", load: () => import("./cli/rm.js") },
  inspect: { summary: "show a VM's record as JSON, or where its boot's time went (--boot)", load: () => import("./cli/inspect.js") },
  build: { summary: "build an image from a Containerfile directory (podman build)", load: () => import("./cli/build.js") },
  "to-disk": { summary: "write a bootable disk image (qcow2, raw, vmdk) of an image, for other tools", load: () => import("./cli/to-disk.js") },
  snapshot: { summary: "save a disk VM (memory included) under a tag, list, restore, remove", load: () => import("./cli/snapshot.js") },
  disks: { summary: "list the cached base disks of disk-mode VMs; prune unused ones", load: () => import("./cli/disks.js") },
  hosts: { summary: "save libvirt hosts (this machine's libvirt, or another over SSH) for run --connect", load: () => import("./cli/hosts.js") },
  images: { summary: "list local container images, bootc ones marked", load: () => import("./cli/images.js") },
  demo: { summary: "build the offline demo image (localhost/bootc-demo)", load: () => import("./cli/demo.js") },
  setup: { summary: "install and configure what this host needs (--check: list what is missing; --dry-run)", load: () => import("./cli/setup.js") },
  doctor: { summary: "check this host's podman, qemu, virtiofsd, firmware, accelerator", load: () => import("./cli/doctor.js") },
  completion: { summary: "print a bash, zsh or fish completion script (source <(bootc completion bash))", load: () => import("./cli/completion.js") },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    "bootc — boot bootable container images as VMs, from a CLI or a web console",
    "",
    "Usage: bootc <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `bootc <command> --help` for a command's options. Most commands take --json.",
    "Environment: BOOTC_ACCEL (kvm|hvf|tcg), BOOTC_HOME (move all state), BOOTC_DEBUG=1 (stack traces).",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === "--version" || name === "-V") {
    const { readFile } = await import("node:fs/promises");
    const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`error: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await entry.load();
  return mod.main(rest, Object.keys(COMMANDS));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.exitCode = printError(e);
  },
);
