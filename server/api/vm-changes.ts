/**
 * VM list changes for subscribers: the engine's records are the truth (monitors write
 * them), so we read them once a second and send the list when it differs. One loop per
 * subscriber keeps this simple; the list is small.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { VmInfo } from "../../engine/core/vm.js";
import { withGuestArch } from "../../engine/host/arch.js";
import { hostArch } from "../../engine/host/tools.js";
import type { Engine } from "../../engine/vm/manager.js";

const POLL_MS = 1000;

export async function* vmChanges(engine: Engine, signal?: AbortSignal): AsyncGenerator<Array<VmInfo & { guestArch?: string }>> {
  let last = "";
  while (!signal?.aborted) {
    // With the guest's architecture, as bootc list shows it (only the server knows its host's).
    const host = hostArch();
    const vms = (await engine.listVms()).map((v) => withGuestArch(v, host));
    // Uptime ticks every second; it is not a change worth sending.
    const key = JSON.stringify(vms.map(({ uptimeSec: _u, ...rest }) => rest));
    if (key !== last) {
      last = key;
      yield vms;
    }
    await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
  }
}
