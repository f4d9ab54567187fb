import { Engine } from "../../engine/vm/manager.js";
import { parseBind, parseMemory, parsePortForward } from "../../engine/vm/options.js";
import type { MonitorEvent } from "../../engine/monitor/protocol.js";
import { BootcError } from "../../engine/errors.js";
import { parseCommand, printJson } from "./output.js";
import { interactiveConsole } from "./console.js";
import { interactiveSsh } from "./ssh.js";

const HELP = `Usage: bootc run [options] IMAGE

Boots IMAGE as a VM without installing it (ephemeral mode): the image's own kernel and
initramfs boot with its root filesystem served read-only from podman storage by
virtiofsd, under a throwaway writable layer. An SSH key is made for the VM and injected
with systemd credentials. Returns when the guest answers SSH (or has booted, for an
image without sshd) and leaves the VM running; -i attaches to it instead.

Options:
  --name NAME            VM name (default: a generated one)
  --cpus N               virtual CPUs (default 2)
  --memory SIZE          memory, e.g. 2G or 1536M (default 2G)
  -p, --publish H:G      forward host port H (on 127.0.0.1) to guest port G; repeatable
  --bind HOST:GUEST[:ro] share a host directory (virtiofs), mounted in the guest at GUEST;
                         read-write unless :ro; repeatable
  --karg ARG             extra kernel argument; repeatable
  --user USER            SSH user (default root)
  --ssh-identity FILE    use this private key instead of a generated per-VM key
  --accel kvm|hvf|tcg    override the accelerator (default: detected; env BOOTC_ACCEL)
  --timeout SECONDS      how long to wait for SSH before failing (default 600)
  --rm                   remove the VM when it stops
  -i, --interactive      attach: SSH once ready (serial console if no sshd); with
                         --rm, "bootc run -i --rm IMAGE" is boot, work, exit, gone
  --json                 print the VM record as JSON when ready (no progress text)

Examples:
  bootc run localhost/bootc-demo
  bootc run -i --rm --bind ./src:/mnt/src:ro localhost/bootc-demo`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        cpus: { type: "string" },
        memory: { type: "string" },
        publish: { type: "string", short: "p", multiple: true },
        bind: { type: "string", multiple: true },
        karg: { type: "string", multiple: true },
        user: { type: "string" },
        "ssh-identity": { type: "string" },
        accel: { type: "string" },
        timeout: { type: "string" },
        rm: { type: "boolean" },
        interactive: { type: "boolean", short: "i" },
        json: { type: "boolean" },
      },
    },
    HELP,
  );
  const [image, ...extra] = positionals;
  if (!image || extra.length) throw new BootcError("INVALID_ARGUMENT", image ? `unexpected arguments: ${extra.join(" ")}` : "no image given", "usage: bootc run [options] IMAGE (see bootc images)");
  const int = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new BootcError("INVALID_ARGUMENT", `--${flag} "${v}" is not a whole number`);
    return Number(v);
  };
  const engine = new Engine();
  const quiet = !!values.json;
  const say = (s: string) => quiet || console.error(s);
  const vm = await engine.createVm({
    image,
    name: values.name,
    cpus: int("cpus", values.cpus),
    memoryMiB: values.memory === undefined ? undefined : parseMemory(values.memory),
    forwards: (values.publish ?? []).map(parsePortForward),
    binds: (values.bind ?? []).map(parseBind),
    kargs: values.karg ?? [],
    user: values.user,
    identity: values["ssh-identity"],
    removeOnStop: !!values.rm,
    accel: values.accel,
    readyTimeoutSec: int("timeout", values.timeout),
  });
  say(`Booting ${vm.name} from ${image} (${vm.accel.toUpperCase()}, ${vm.cpus} vCPU, ${vm.memoryMiB} MiB)`);
  if (vm.accel === "tcg") say(`  note: ${vm.accelReason}`);
  const t0 = Date.now();
  const progress = (e: MonitorEvent) => {
    const t = ((Date.now() - t0) / 1000).toFixed(1).padStart(5);
    if (e.type === "timeline") say(`  ${t}s  ${e.event}`);
    else if (e.type === "warning") say(`  warning: ${e.message}`);
  };
  // Ctrl+C while booting stops the VM rather than leaving it half-watched.
  const onInt = () => void engine.stopVm(vm.name, { force: true }).finally(() => process.exit(130));
  process.once("SIGINT", onInt);
  let ready;
  try {
    ready = await engine.waitFor(vm.name, "ssh-ready", progress);
  } finally {
    process.off("SIGINT", onInt);
  }
  const hasSsh = ready.effectiveState === "ssh-ready";
  if (values.interactive) {
    const code = hasSsh ? await interactiveSsh(engine, vm.name, []) : await interactiveConsole(engine, vm.name);
    if (values.rm) await engine.stopVm(vm.name, { timeoutSec: 30 }).catch(() => undefined);
    return code;
  }
  if (values.json) {
    printJson(ready);
    return 0;
  }
  console.log(`${vm.name} is ${hasSsh ? `ready (ssh on 127.0.0.1:${ready.sshPort})` : "up (no sshd in the image)"}`);
  if (hasSsh) console.log(`  bootc ssh ${vm.name}          # shell\n  bootc ssh ${vm.name} -- CMD   # run a command`);
  console.log(`  bootc console ${vm.name}      # serial console (detach: Ctrl+])\n  bootc stop ${vm.name}`);
  return 0;
}
