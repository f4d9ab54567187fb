/**
 * One boot's report: where its time went on the host (phases from the VM's timeline) and
 * in the guest (units from systemd-analyze). Kept with the VM (store.ts) so a later boot
 * can be compared with it (compare.ts).
 */
import * as z from "zod";

export const PhaseSchema = z.object({ name: z.string(), until: z.string(), startSeconds: z.number(), seconds: z.number() });
export const UnitTimeSchema = z.object({ name: z.string(), seconds: z.number() });
export const ChainLinkSchema = z.object({ name: z.string(), atSec: z.number().optional(), seconds: z.number().optional(), depth: z.number().int() });
export const GuestTimesSchema = z.object({
  firmwareSec: z.number().optional(),
  loaderSec: z.number().optional(),
  kernelSec: z.number().optional(),
  initrdSec: z.number().optional(),
  /** After a soft reboot: the old userspace's stop, up to the switch. */
  softRebootSec: z.number().optional(),
  userspaceSec: z.number(),
  totalSec: z.number(),
  target: z.object({ name: z.string(), afterSec: z.number() }).optional(),
});

export const BootReportSchema = z.object({
  version: z.literal(1),
  vm: z.string(),
  /** The VM's createdAt: a VM removed and made again under the same name is another VM. */
  vmCreatedAt: z.string(),
  /** The time of the boot's `created` mark (or its soft reboot's), which no other boot of the VM has. */
  bootId: z.string(),
  /** What the boot's time counts from: the VM's start, or a soft reboot's switch into a new image. */
  from: z.enum(["created", "soft-reboot"]).optional(),
  image: z.string(),
  imageId: z.string(),
  /** A rebuild's image build before this boot, in seconds (not part of the boot's phases). */
  buildSeconds: z.number().optional(),
  /** From `created` to SSH ready (or the last mark so far), in order, adding up to totalSeconds. */
  phases: z.array(PhaseSchema),
  totalSeconds: z.number(),
  /** systemd-analyze time inside the guest. */
  guest: GuestTimesSchema.optional(),
  /** Each unit's activation time (systemd-analyze blame), slowest first. */
  units: z.array(UnitTimeSchema),
  /** What the default target waited for (systemd-analyze critical-chain), target first. */
  criticalChain: z.array(ChainLinkSchema),
  /** Where the units came from; "none" with `note` saying why when the guest could not be asked. */
  unitsFrom: z.enum(["systemd-analyze", "none"]),
  note: z.string().optional(),
  /** The boot had not reached SSH (or its end) when this was made: made again when asked later. */
  partial: z.boolean().optional(),
  madeAt: z.string(),
});
export type BootReport = z.infer<typeof BootReportSchema>;
