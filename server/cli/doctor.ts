import { runDoctor } from "../../engine/doctor/doctor.js";
import { parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc doctor [--json]

Checks what bootc-console needs on this host: podman (and whether it can run a
container), qemu, qemu-img, virtiofsd (and its flavour), UEFI firmware, the accelerator
(KVM / HVF / TCG and why), ssh, xorriso and free disk space; and for each saved libvirt
host (bootc hosts, BOOTC_CONNECT) whether its daemon answers, runs qemu, has virtiofs and
the storage pool. Every problem row says how to fix it. Exits 1 when a hard requirement
is missing.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { json: { type: "boolean" } } }, HELP);
  const report = await runDoctor();
  if (values.json) {
    printJson(report);
  } else {
    const mark = { ok: "ok", warn: "WARN", fail: "FAIL" } as const;
    console.log(
      table(
        ["CHECK", "STATUS", "DETAIL"],
        report.rows.map((r) => [r.name, mark[r.status], r.detail]),
      ),
    );
    const fixes = report.rows.filter((r) => r.fix && r.status !== "ok");
    if (fixes.length) {
      console.log("\nTo fix:");
      for (const r of fixes) console.log(`  ${r.name}: ${r.fix}`);
    }
    console.log(report.ok ? "\nThis host can run bootc-console." : "\nA hard requirement is missing (FAIL above): fix it, then run bootc doctor again.");
  }
  return report.ok ? 0 : 1;
}
