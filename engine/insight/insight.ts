/**
 * A VM's boot report, made when asked and kept: the current boot's is made from its
 * timeline and, once SSH answers, from the guest itself; a finished one is kept (store.ts)
 * and read back. Only what every runtime offers is used (the record's timeline and an SSH
 * target), so the facade hands over a VM without saying who runs it.
 */
import type { EnginePaths } from "../core/paths.js";
import { ACTIVE_STATES } from "../core/record.js";
import type { VmInfo } from "../core/vm.js";
import type { SshTarget } from "../ssh/exec.js";
import { askGuest, type GuestFindings } from "./guest.js";
import { buildSeconds, phasesOf } from "./phases.js";
import type { BootReport } from "./report.js";
import { readReports, saveReport } from "./store.js";

/** How long the guest's systemd may take after SSH answers before its boot counts as unfinished (emulated boots are slow). */
export const GUEST_WAIT_SEC = 180;

/** The current boot's first mark, `created` (or a soft reboot's switch): what tells one boot of a VM from another. */
export const bootIdOf = (vm: Pick<VmInfo, "timeline">) => vm.timeline.find((t) => t.event === "created" || t.event === "soft-reboot")?.at;

function makeReport(vm: VmInfo, bootId: string, findings: Omit<GuestFindings, "finished">, partial: boolean): BootReport {
  const { phases, totalSeconds } = phasesOf(vm.timeline, findings.guest);
  const build = buildSeconds(vm.timeline);
  return {
    version: 1,
    vm: vm.name,
    vmCreatedAt: vm.createdAt,
    bootId,
    ...(vm.timeline.some((t) => t.event === "created") ? {} : vm.timeline.some((t) => t.event === "soft-reboot") ? { from: "soft-reboot" as const } : {}),
    image: vm.image,
    imageId: vm.imageId,
    ...(build !== undefined ? { buildSeconds: build } : {}),
    phases,
    totalSeconds,
    ...(findings.guest ? { guest: findings.guest } : {}),
    units: findings.units,
    criticalChain: findings.criticalChain,
    unitsFrom: findings.unitsFrom,
    ...(findings.note ? { note: findings.note } : {}),
    ...(partial ? { partial: true } : {}),
    madeAt: new Date().toISOString(),
  };
}

const hostOnly = (note: string) => ({ units: [], criticalChain: [], unitsFrom: "none" as const, note });

const NO_SSHD = "the image has no sshd, so its units are not known";

/** The boot a VM's timeline says it is in, and the report kept of it, if any. */
async function keptOf(paths: EnginePaths, vm: VmInfo): Promise<{ bootId: string; stored?: BootReport }> {
  const bootId = bootIdOf(vm) ?? vm.createdAt;
  const stored = (await readReports(paths, vm.name, vm.createdAt)).find((r) => r.bootId === bootId);
  return { bootId, ...(stored ? { stored } : {}) };
}

/** Why a VM that is not ssh-ready cannot tell its units (and whether that can still change). */
function unreachable(vm: VmInfo): { note: string; final: boolean } {
  const active = ACTIVE_STATES.includes(vm.effectiveState);
  if (vm.sshPort === undefined) return { note: NO_SSHD, final: true };
  if (vm.sshFailed) return { note: `${vm.sshFailed}, so the guest's units are not known`, final: false };
  if (active) return { note: "the guest is still booting: its units are known once SSH answers", final: false };
  return { note: "the VM stopped before its guest was asked about its units", final: true };
}

/**
 * The report of the VM's current (or last) boot. A finished one is read back; otherwise
 * a ready guest is asked (waiting at most `waitSec` for its boot to finish) and the result
 * kept, so a later boot can be compared with it.
 */
export async function currentBootReport(
  paths: EnginePaths,
  vm: VmInfo,
  sshTarget: () => Promise<SshTarget>,
  o: { waitSec?: number } = {},
): Promise<BootReport> {
  const { bootId, stored } = await keptOf(paths, vm);
  if (stored && !stored.partial) return stored;
  if (vm.effectiveState === "ssh-ready") {
    const report = makeReport(vm, bootId, ...(await askOrSay(sshTarget, o.waitSec ?? GUEST_WAIT_SEC)));
    // A finished report replaces whatever was kept; an unfinished one never replaces a finished one (store.ts).
    await saveReport(paths, report);
    return report;
  }
  if (stored) return stored; // an unfinished report made while it ran: more than the timeline alone
  const { note, final } = unreachable(vm);
  const report = makeReport(vm, bootId, hostOnly(note), !final);
  if (final) await saveReport(paths, report);
  return report;
}

/**
 * The report of a boot about to be replaced (a rebuild, a restart), not saved: the caller
 * keeps it once the boot is really ending. The guest is asked at once, without waiting for
 * its boot to finish, until `signal` abandons the asking; a boot that never answered SSH
 * gets the host's phases with a note saying so.
 */
export async function endingBootReport(paths: EnginePaths, vm: VmInfo, sshTarget: () => Promise<SshTarget>, signal?: AbortSignal): Promise<BootReport> {
  const { bootId, stored } = await keptOf(paths, vm);
  if (stored && !stored.partial) return stored;
  if (vm.effectiveState === "ssh-ready") return makeReport(vm, bootId, ...(await askOrSay(sshTarget, 0, signal)));
  const note = vm.sshPort === undefined ? NO_SSHD : "the boot was replaced before its guest answered SSH, so its units are not known";
  return stored ?? makeReport(vm, bootId, hostOnly(note), true);
}

/** What the guest says, or why it said nothing: a report's findings and whether they are partial. */
async function askOrSay(sshTarget: () => Promise<SshTarget>, waitSec: number, signal?: AbortSignal): Promise<[Omit<GuestFindings, "finished">, boolean]> {
  const findings = await sshTarget()
    .then((t) => askGuest(t, waitSec, signal))
    .catch((e: unknown): GuestFindings => ({
      ...hostOnly(
        signal?.aborted
          ? "the guest's units were not read: the boot was replaced first"
          : `SSH to the guest failed (${e instanceof Error ? e.message : String(e)})`,
      ),
      finished: false,
    }));
  return [findings, !findings.finished];
}

/** The kept report of the boot before the VM's current one (undefined when there is none). */
export async function previousBootReport(paths: EnginePaths, vm: VmInfo): Promise<BootReport | undefined> {
  const bootId = bootIdOf(vm) ?? vm.createdAt;
  return (await readReports(paths, vm.name, vm.createdAt)).filter((r) => r.bootId < bootId).at(-1);
}
