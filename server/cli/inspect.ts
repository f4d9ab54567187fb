import { enginePaths } from "../../engine/core/paths.js";
import { vmStatus } from "../../engine/runtime/direct/status.js";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import { hostArch } from "../../engine/host/tools.js";
import { withGuestArch } from "../../engine/host/arch.js";
import { parseCommand, printJson, printOnce } from "./output.js";
import { renderBootReport, renderComparison } from "./boot-chart.js";

const HELP = `Usage: bootc inspect NAME [--json]
       bootc inspect NAME --boot [--compare | --against OTHER] [--json]

Prints the VM's record as JSON: options, state and reason, the guest's architecture
(guestArch: amd64, arm64; arch is set only for an emulated one), the qemu command line, and
the boot timeline (always JSON; --json is accepted for symmetry) (created, image-mounted, virtiofsd-ready, qemu-started,
first-serial-byte, kernel-to-userspace, ssh-ready, …) with timestamps.

With --boot: where the VM's current (or last) boot spent its time, as a chart: the host's
phases (image mount, virtiofsd, qemu start, firmware, kernel, initramfs, userspace to
SSH) on a timeline, the guest's slowest units and its critical chain (systemd-analyze,
asked over SSH once the guest's boot has finished; the report is kept with the VM).

Options:
  --boot           the boot report (--json: {phases, units, criticalChain, guest, …})
  --compare        what changed since the VM's previous boot (a rebuild, a restart):
                   units new or gone first, then what moved most
  --against OTHER  compare with VM OTHER's current (or last) boot instead
  --json           machine-readable output`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" }, boot: { type: "boolean" }, compare: { type: "boolean" }, against: { type: "string" } },
    },
    HELP,
  );
  const [name] = positionals;
  if (!name) throw new BootcError("INVALID_ARGUMENT", "no VM name given", "usage: bootc inspect NAME");
  if (values.boot || values.compare || values.against) return inspectBoot(name, values);
  // Read from the record alone: no need to load the whole engine (docs/benchmarks.md).
  const local = await vmStatus(name, enginePaths()).catch(async (e: unknown) => {
    if (!(isBootcError(e) && e.code === "VM_NOT_FOUND")) throw e;
    const { Engine } = await import("../../engine/vm/manager.js"); // a libvirt VM, perhaps
    return new Engine().getVm(name);
  });
  printOnce(JSON.stringify(withGuestArch(local, hostArch()), null, 2));
  return 0;
}

async function inspectBoot(name: string, o: { json?: boolean; compare?: boolean; against?: string }): Promise<number> {
  const { Engine } = await import("../../engine/vm/manager.js");
  const engine = new Engine();
  const style = { colour: !o.json && !!process.stdout.isTTY && !process.env.NO_COLOR };
  await engine.getVm(name); // a wrong name is said before anything waits
  if (!o.json) console.error(`reading ${name}'s boot (a ready guest is asked over SSH once its boot has finished)…`);
  if (o.compare || o.against) {
    const r = await engine.compareBoots(name, { against: o.against });
    if (o.json) printJson(r);
    else console.log(renderComparison(r.comparison, style));
    return 0;
  }
  const report = await engine.bootReport(name);
  if (o.json) printJson(report);
  else console.log(renderBootReport(report, style));
  return 0;
}
