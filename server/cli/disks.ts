import { Engine } from "../../engine/vm/manager.js";
import { BootcError } from "../../engine/core/errors.js";
import type { CacheInfo } from "../../engine/disk/disks.js";
import { describePodman } from "../../engine/core/podman-connection.js";
import { formatDuration, parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc disks [--json]
       bootc disks prune [--all] [--dry-run] [--json]
       bootc disks rm KEY

The cache: the base disks of disk-mode VMs (one base per image, builder and disk options;
each VM writes to its own overlay on top), and the root filesystems exported from another
podman for ephemeral boots of its images (one per image, builder "exported root").
"disks" lists them: size on the host, image, age, the VMs that use them, what those VMs'
overlays take on the host (snapshots included), their snapshots (bootc snapshot) with the
guest memory they keep, the warm starts saved on a base (bootc run --rm --warm), which
prune and rm remove with it, and the total. "prune" removes entries no VM uses whose image
was rebuilt or removed (marked "outdated"; an exported root's image is asked of its podman,
and kept when that podman cannot be reached); --all removes every entry no VM uses;
--dry-run only lists what would go. "rm" removes one entry (refused while a VM uses it).`;

const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;

function print(disks: CacheInfo[]): void {
  console.log(
    table(
      ["KEY", "IMAGE", "BUILDER", "SIZE", "ON HOST", "AGE", "USED BY", "OVERLAYS", "SNAPSHOTS", "WARM"],
      disks.map((d) => [
        d.key.slice(0, 12),
        `${d.image || "-"}${d.kind === "root" && d.podman ? ` (${describePodman(d.podman)})` : ""}${d.imageCurrent ? "" : " (outdated)"}`,
        d.kind === "root" ? "exported root" : d.builder,
        d.kind === "root" ? "-" : gib(d.sizeBytes),
        gib(d.usageBytes),
        formatDuration(d.ageSec * 1000),
        d.usedBy.join(",") || "-",
        d.kind === "disk" && d.usedBy.length ? gib(d.overlayBytes) : "-",
        d.kind === "disk" && d.snapshots ? `${d.snapshots} (${gib(d.snapshotMemoryBytes)} memory)` : "-",
        d.kind === "disk" && d.warm ? `${d.warm} (${gib(d.warmBytes)})` : "-",
      ]),
    ),
  );
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    { args: argv, allowPositionals: true, options: { json: { type: "boolean" }, all: { type: "boolean" }, "dry-run": { type: "boolean" } } },
    HELP,
  );
  const engine = new Engine();
  const [sub, ...rest] = positionals;
  if (sub === undefined || sub === "list") {
    const disks = await engine.listDisks();
    if (values.json) printJson(disks);
    else if (!disks.length) console.log("No cached disks. Disk-mode VMs make them: bootc run --mode disk IMAGE");
    else {
      print(disks);
      console.log(`${disks.length} entr${disks.length === 1 ? "y" : "ies"}, ${gib(disks.reduce((n, d) => n + d.usageBytes, 0))} on the host`);
    }
    return 0;
  }
  if (sub === "prune") {
    const removed = await engine.pruneDisks({ all: values.all, dryRun: values["dry-run"] });
    if (values.json) printJson({ dryRun: !!values["dry-run"], removed });
    else if (!removed.length)
      console.log(
        values.all ? "Nothing to prune: every cached disk is in use." : "Nothing to prune (bases of current images are kept; --all removes every unused one).",
      );
    else {
      console.log(values["dry-run"] ? "Would remove:" : "Removed:");
      print(removed);
    }
    return 0;
  }
  if (sub === "rm") {
    if (!rest.length) throw new BootcError("INVALID_ARGUMENT", "no disk key given", "usage: bootc disks rm KEY (keys: bootc disks)");
    for (const key of rest) {
      await engine.removeDisk(key);
      console.log(`removed ${key}`);
    }
    return 0;
  }
  throw new BootcError("INVALID_ARGUMENT", `unknown subcommand "${sub}"`, "use: bootc disks, bootc disks prune, bootc disks rm KEY");
}
