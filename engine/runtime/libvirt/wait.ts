/**
 * Waiting for a libvirt VM's SSH. Nothing watches a running domain for us (the direct
 * runtime's monitor does that for its VMs), so each probe first looks at the domain: one
 * that stopped, that its guest shut down, or whose serial log shows a kernel panic ends
 * the wait at once, with why.
 */
import { BootcError } from "../../core/errors.js";
import type { EnginePaths } from "../../core/paths.js";
import type { VmInfo } from "../../core/vm.js";
import { kernelPanicked } from "../../host/machine.js";
import { waitForSsh } from "../../ssh/ready.js";
import type { Host } from "./hosts.js";
import { sshTargetOf } from "./reach.js";
import { virsh } from "./virsh.js";

export interface DomainWaitContext {
  paths: EnginePaths;
  /** The VM as its domain is now; undefined once it is gone. */
  read: (name: string) => Promise<VmInfo | undefined>;
  readLog: (name: string, maxBytes: number) => Promise<{ text: string }>;
}

/** Resolves with the VM, ssh-ready, once SSH answers (pinning the guest's host key); rejects with why it will not. */
export async function waitForDomainSsh(ctx: DomainWaitContext, host: Host, vm: VmInfo): Promise<VmInfo> {
  const name = vm.name;
  const failed = (why: string) => new BootcError("BOOT_FAILED", `VM "${name}" did not boot: ${why}`, `see the serial log: bootc logs ${name}`);
  const target = await sshTargetOf(ctx.paths, host, vm, { pin: false });
  let now: VmInfo | undefined = vm;
  const outcome = await waitForSsh(target, {
    timeoutMs: vm.readyTimeoutSec * 1000,
    intervalMs: 2000,
    check: async (): Promise<"probe"> => {
      now = await ctx.read(name);
      if (now?.effectiveState === "stopped" && /\(shutdown\)/.test(await virsh(host.connection, ["domstate", "--reason", name]).catch(() => ""))) {
        // A guest that shut itself down (a boot-and-power-off check): not a failed boot.
        throw new BootcError("GUEST_POWERED_OFF", `VM "${name}" powered itself off before it was ready`, `its serial log: bootc logs ${name}`);
      }
      if (!now || now.effectiveState !== "running") throw failed(`the domain is ${now ? now.effectiveState : "gone"}`);
      const tail = await ctx.readLog(name, 4096);
      if (kernelPanicked(tail.text.split("\n").slice(-4)))
        throw failed(`the guest kernel panicked; last serial lines:\n${tail.text.split("\n").slice(-12).join("\n")}`);
      return "probe";
    },
  });
  if (outcome !== "ready") {
    throw new BootcError(
      "BOOT_TIMEOUT",
      `VM "${name}" did not answer SSH within ${vm.readyTimeoutSec} s`,
      `it keeps running without SSH: reach it with bootc console ${name} (its log: bootc logs ${name}), stop it with bootc stop ${name}`,
    );
  }
  return { ...now!, effectiveState: "ssh-ready" };
}
