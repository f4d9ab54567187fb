/**
 * Which runtime owns a VM: the registry the facade asks before it delegates. bootc's own
 * runtime is asked first (a directory lookup); libvirt's only when no local VM has the
 * name, and only if a libvirt host is known. A new VM goes to libvirt when it names a
 * `--connect` target.
 */
import { BootcError } from "../core/errors.js";
import type { EnginePaths } from "../core/paths.js";
import { validateName, type ParsedRunOptions } from "../core/schema.js";
import { DirectRuntime } from "../runtime/direct/vms.js";
import { LibvirtRuntime } from "../runtime/libvirt/vms.js";
import type { Listing, VmRuntime } from "../runtime/runtime.js";

/** The default runtime also names its VMs cheaply (a generated name avoids them). */
export interface DefaultRuntime extends VmRuntime {
  names(): Promise<string[]>;
}

export class Runtimes {
  /** `local` runs VMs unless they name a connection; `connected` runs those (and is asked second). */
  constructor(
    readonly local: DefaultRuntime,
    readonly connected: VmRuntime,
  ) {}

  /** This host's runtimes: bootc's own, and libvirt for --connect. */
  static forHost(paths: EnginePaths, o: { node?: string } = {}): Runtimes {
    return new Runtimes(new DirectRuntime(paths, o.node), new LibvirtRuntime(paths));
  }

  private get all(): VmRuntime[] {
    return [this.local, this.connected];
  }

  /** The runtime that runs VM `name`, or undefined if none has it. */
  async find(name: string): Promise<VmRuntime | undefined> {
    validateName(name); // before any runtime makes a path or a virsh argument of it
    for (const runtime of this.all) if (await runtime.has(name)) return runtime;
    return undefined;
  }

  async owner(name: string): Promise<VmRuntime> {
    const runtime = await this.find(name);
    if (!runtime) throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`, "list VMs with `bootc list`");
    return runtime;
  }

  /** Where a new VM with these options runs. */
  forNew(opts: ParsedRunOptions): VmRuntime {
    return opts.connect ? this.connected : this.local;
  }

  /** Every runtime's VMs; a host that did not answer is named, not fatal. */
  async list(): Promise<Listing> {
    const listings = await Promise.all(this.all.map((r) => r.list()));
    return { vms: listings.flatMap((l) => l.vms), unreachable: listings.flatMap((l) => l.unreachable) };
  }
}
