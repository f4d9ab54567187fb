import { existsSync } from "node:fs";
import { enginePaths, hostsFile } from "../../engine/core/paths.js";
import type { VmInfo } from "../../engine/core/vm.js";
import { listVmStatus } from "../../engine/runtime/direct/status.js";
import { vmArch, withGuestArch } from "../../engine/host/arch.js";
import { hostArch } from "../../engine/host/tools.js";
import { formatDuration, parseCommand, printOnce, table } from "./output.js";

const HELP = `Usage: bootc list [--json]

Lists VMs with their state: creating, booting, running (guest up), ssh-ready (an SSH
round trip succeeded), stopping, stopped, failed (with the reason in --json). SSH says
"no answer" for a VM whose SSH did not answer within its ready timeout: it runs on
(bootc console NAME reaches it; sshFailed in --json says why).
VMs that libvirt runs (bootc run --connect) are listed from every saved host (bootc
hosts) and BOOTC_CONNECT's, read from libvirt itself; HOST says where each VM runs
("local" for bootc's own runtime). A host that does not answer is named on stderr.
ARCH is the guest's architecture (guestArch in --json), "(emulated)" when it is not the
host's: run under TCG, several times slower.`;

/** libvirt VMs, if any host is known: loaded only then, so the common case stays fast. */
async function libvirtVms(): Promise<{ vms: VmInfo[]; unreachable: Array<{ host: string; reason: string }> }> {
  const paths = enginePaths();
  // Without a saved host or BOOTC_CONNECT (knownHosts' two sources), the libvirt modules
  // (execa, an XML parser, zod schemas) are not even loaded.
  if (!process.env.BOOTC_CONNECT && !existsSync(hostsFile(paths))) return { vms: [], unreachable: [] };
  const { knownHosts } = await import("../../engine/runtime/libvirt/hosts.js");
  if (!(await knownHosts(paths)).length) return { vms: [], unreachable: [] };
  const { LibvirtRuntime } = await import("../../engine/runtime/libvirt/vms.js");
  return new LibvirtRuntime(paths).list();
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand({ args: argv, options: { json: { type: "boolean" } } }, HELP);
  // Read from the records alone: no need to load the whole engine (docs/benchmarks.md).
  const remote = await libvirtVms();
  const vms = [...(await listVmStatus(enginePaths())), ...remote.vms];
  for (const u of remote.unreachable) console.error(`warning: host ${u.host} did not answer: ${u.reason}`);
  const host = hostArch();
  if (values.json) {
    printOnce(
      JSON.stringify(
        vms.map((v) => withGuestArch(v, host)),
        null,
        2,
      ),
    );
    return 0;
  }
  if (!vms.length) {
    printOnce("No VMs. Boot one with: bootc run IMAGE   (images: bootc images)");
    return 0;
  }
  const ssh = (v: VmInfo) =>
    !v.sshPort
      ? "-"
      : v.sshFailed && (v.effectiveState === "booting" || v.effectiveState === "running")
        ? "no answer"
        : v.effectiveState === "ssh-ready"
          ? `127.0.0.1:${v.sshPort}`
          : v.connection && v.effectiveState === "running"
            ? `${v.hostName}:${v.sshPort}`
            : "-";
  printOnce(
    table(
      ["NAME", "IMAGE", "ARCH", "MODE", "STATE", "SSH", "UPTIME", "HOST"],
      vms.map((v) => [
        v.name,
        v.image,
        v.arch ? `${vmArch(v, host)} (emulated)` : (vmArch(v, host) ?? "-"),
        v.mode,
        v.effectiveState,
        ssh(v),
        v.uptimeSec !== undefined ? formatDuration(v.uptimeSec * 1000) : "-",
        v.hostName ?? "local",
      ]),
    ),
  );
  return 0;
}
