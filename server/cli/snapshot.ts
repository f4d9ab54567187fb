import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import type { SnapshotInfo } from "../../engine/disk/snapshot-plan.js";
import { formatDuration, parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc snapshot create NAME TAG [--json]
       bootc snapshot list NAME [--json]
       bootc snapshot restore NAME TAG [--no-wait] [--json]
       bootc snapshot rm NAME TAG

Named snapshots of a disk-mode VM (bootc run --mode disk), kept in its disk overlay.
"create" of a running VM saves its disk and its memory: restoring it resumes the guest
where it was, without a boot (SSH answers within seconds; the guest's clock is stepped to
the host's). "create" of a stopped VM saves the disk only; such a snapshot is restored on
a stopped VM. "restore" of a memory snapshot starts a stopped VM (and waits for SSH unless
--no-wait); a running VM goes back in place. "list" shows each tag, when it was taken and
whether it holds memory. Snapshots go with the VM (bootc rm), and with its disk when the
VM is rebuilt into a new image. Tags: 1–63 letters, digits, '.', '_' or '-'.
Ephemeral VMs and VMs with --bind shares have no snapshots (virtiofs cannot be saved
with the guest's memory).`;

const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)} MiB`;

function print(snaps: SnapshotInfo[]): void {
  console.log(
    table(
      ["TAG", "TAKEN", "MEMORY", "GUEST UPTIME"],
      snaps.map((s) => [
        s.tag,
        `${formatDuration(Date.now() - Date.parse(s.createdAt))} ago`,
        s.memory ? `yes (${mib(s.vmStateBytes)})` : "no (disk only)",
        s.memory ? formatDuration(s.guestClockSec * 1000) : "-",
      ]),
    ),
  );
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    { args: argv, allowPositionals: true, options: { json: { type: "boolean" }, "no-wait": { type: "boolean" } } },
    HELP,
  );
  const [sub, name, tag, ...extra] = positionals;
  const usage = "usage: bootc snapshot create|list|restore|rm NAME [TAG] (see bootc snapshot --help)";
  if (!sub) throw new BootcError("INVALID_ARGUMENT", "no snapshot command given", usage);
  if (!["create", "list", "ls", "restore", "rm"].includes(sub)) throw new BootcError("INVALID_ARGUMENT", `unknown snapshot command "${sub}"`, usage);
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", usage);
  if (extra.length) throw new BootcError("INVALID_ARGUMENT", `unexpected arguments: ${extra.join(" ")}`, usage);
  const engine = new Engine();
  if (sub === "list" || sub === "ls") {
    if (tag) throw new BootcError("INVALID_ARGUMENT", `unexpected argument: ${tag}`, usage);
    const snaps = await engine.listSnapshots(name);
    if (values.json) printJson(snaps);
    else if (!snaps.length) console.log(`VM "${name}" has no snapshots. Take one: bootc snapshot create ${name} TAG`);
    else print(snaps);
    return 0;
  }
  if (!tag) throw new BootcError("INVALID_ARGUMENT", "no snapshot tag given", usage);
  if (sub === "create") {
    const snap = await engine.createSnapshot(name, tag);
    if (values.json) printJson(snap);
    else console.log(`${name}: snapshot ${tag} taken (${snap.memory ? "disk and memory" : "disk only"})`);
    return 0;
  }
  if (sub === "rm") {
    await engine.removeSnapshot(name, tag);
    console.log(`${name}: snapshot ${tag} removed`);
    return 0;
  }
  const restored = await engine.restoreSnapshot(name, tag);
  const vm = restored.running && !values["no-wait"] ? await engine.waitFor(name, "ssh-ready") : await engine.getVm(name);
  if (values.json) printJson({ ...restored, state: vm.effectiveState });
  else
    console.log(
      `${name}: restored ${tag} (${restored.running ? `the guest runs on from it: ${vm.effectiveState}` : "disk put back; start it: bootc start " + name})`,
    );
  return 0;
}
