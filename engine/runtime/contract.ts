/**
 * The behaviour every VmRuntime owes the facade, as one table: run against the in-memory
 * fake and the direct runtime by the unit tests (runtime/contract.test.ts), and against the
 * libvirt runtime with a real libvirtd by e2e/libvirt.e2e.ts. A case throws if the runtime
 * breaks the contract. `stopped`, when given, names a VM of that runtime that is stopped.
 */
import { isBootcError } from "../core/errors.js";
import type { VmRuntime } from "./runtime.js";

export interface ContractContext {
  /** A VM name this runtime does not run. */
  unknown: string;
  /** A stopped VM of this runtime, for the cases that need one. */
  stopped?: string;
}

async function failsWith(code: string, what: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (isBootcError(e) && e.code === code) return;
    throw new Error(`${what}: expected ${code}, got ${isBootcError(e) ? e.code : String(e)}`);
  }
  throw new Error(`${what}: expected ${code}, but it succeeded`);
}

export const RUNTIME_CONTRACT: Array<{ name: string; needs?: "stopped"; run: (rt: VmRuntime, c: ContractContext) => Promise<void> }> = [
  {
    name: "has() is false for a name it does not run",
    run: async (rt, c) => {
      if (await rt.has(c.unknown)) throw new Error("has() said true");
    },
  },
  {
    name: "every verb on an unknown name fails with VM_NOT_FOUND",
    run: async (rt, c) => {
      const n = c.unknown;
      const verbs: Array<[string, () => Promise<unknown>]> = [
        ["get", () => rt.get(n)],
        ["start", () => rt.start(n)],
        ["stop", () => rt.stop(n, {})],
        ["reboot", () => rt.reboot(n)],
        ["remove", () => rt.remove(n, { force: true })],
        ["waitFor", () => rt.waitFor(n, "ssh-ready", () => undefined)],
        ["events", () => rt.events(n, () => undefined)],
        ["sshTarget", () => rt.sshTarget(n)],
        ["sshCommand", () => rt.sshCommand(n, undefined)],
        ["console", () => rt.console(n)],
        ["readLog", () => rt.readLog(n, "serial", 1024)],
        ["listSnapshots", () => rt.listSnapshots(n)],
        ["restoreSnapshot", () => rt.restoreSnapshot(n, "t1")],
      ];
      for (const [verb, run] of verbs) await failsWith("VM_NOT_FOUND", verb, run);
    },
  },
  {
    name: "list() answers with its VMs and the hosts that did not answer, never the unknown name",
    run: async (rt, c) => {
      const l = await rt.list();
      if (!Array.isArray(l.vms) || !Array.isArray(l.unreachable)) throw new Error("list() is not { vms, unreachable }");
      if (l.vms.some((v) => v.name === c.unknown)) throw new Error("list() shows the unknown name");
    },
  },
  {
    name: "a stopped VM is listed as stopped; stopping it or reaching it by SSH says it is not running",
    needs: "stopped",
    run: async (rt, c) => {
      const name = c.stopped!;
      if (!(await rt.has(name))) throw new Error("has() said false");
      if ((await rt.get(name)).effectiveState !== "stopped") throw new Error("get() does not say stopped");
      if (!(await rt.list()).vms.some((v) => v.name === name && v.effectiveState === "stopped")) throw new Error("list() does not show it stopped");
      await failsWith("VM_NOT_RUNNING", "stop", () => rt.stop(name, {}));
      await failsWith("VM_NOT_RUNNING", "sshTarget", () => rt.sshTarget(name));
    },
  },
];
