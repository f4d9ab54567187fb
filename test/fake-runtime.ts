/** An in-memory VmRuntime for unit tests of the facade and of the runtime contract. */
import { BootcError } from "../engine/core/errors.js";
import type { VmRecord } from "../engine/core/record.js";
import type { ParsedRunOptions } from "../engine/core/schema.js";
import type { VmInfo } from "../engine/core/vm.js";
import type { CreateRequest, Listing, StopOptions, VmRuntime } from "../engine/runtime/runtime.js";

export class FakeRuntime implements VmRuntime {
  readonly vms = new Map<string, VmRecord>();
  readonly calls: string[] = [];

  constructor(readonly label: string) {}

  private vm(name: string): VmRecord {
    this.calls.push(name);
    const vm = this.vms.get(name);
    if (!vm) throw new BootcError("VM_NOT_FOUND", `no VM named "${name}"`);
    return vm;
  }

  private running(name: string): VmRecord {
    const vm = this.vm(name);
    if (vm.state !== "ssh-ready" && vm.state !== "running") throw new BootcError("VM_NOT_RUNNING", `VM "${name}" is not running (${vm.state})`);
    return vm;
  }

  async has(name: string) {
    return this.vms.has(name);
  }
  async settle(opts: ParsedRunOptions) {
    return opts;
  }
  async create(req: CreateRequest) {
    this.vms.set(req.record.name, { ...req.record, state: "ssh-ready" });
    return req.record;
  }
  async start(name: string) {
    const vm = { ...this.vm(name), state: "ssh-ready" as const };
    this.vms.set(name, vm);
    return vm;
  }
  async stop(name: string, _o: StopOptions) {
    const vm = { ...this.running(name), state: "stopped" as const };
    this.vms.set(name, vm);
    return { ...vm, effectiveState: vm.state };
  }
  async reboot(name: string) {
    return this.start(name);
  }
  async remove(name: string) {
    this.vm(name);
    this.vms.delete(name);
  }
  async get(name: string): Promise<VmInfo> {
    const vm = this.vm(name);
    return { ...vm, effectiveState: vm.state };
  }
  async list(): Promise<Listing> {
    return { vms: [...this.vms.values()].map((v) => ({ ...v, effectiveState: v.state })), unreachable: [] };
  }
  async waitFor(name: string) {
    return this.get(name);
  }
  async events(name: string) {
    this.vm(name);
    return { close: () => undefined, closed: Promise.resolve() };
  }
  async sshTarget(name: string) {
    this.running(name);
    return { vmName: name, port: 2222, user: "root", identity: "/dev/null", knownHosts: "/dev/null" };
  }
  async sshCommand(name: string) {
    this.running(name);
    return { file: "ssh", args: [`${this.label}:${name}`] };
  }
  async console(name: string): Promise<never> {
    this.running(name);
    throw new BootcError("VM_NOT_RUNNING", "the fake has no console");
  }
  async readLog(name: string) {
    this.vm(name);
    return { text: "", truncated: false };
  }
  async followLog(name: string) {
    this.vm(name);
  }
  private noSnapshots(name: string): Promise<never> {
    this.vm(name);
    return Promise.reject(new BootcError("INVALID_ARGUMENT", `the fake runtime has no snapshots`));
  }
  listSnapshots(name: string) {
    return this.noSnapshots(name);
  }
  createSnapshot(name: string) {
    return this.noSnapshots(name);
  }
  restoreSnapshot(name: string) {
    return this.noSnapshots(name);
  }
  removeSnapshot(name: string) {
    return this.noSnapshots(name);
  }
  exportWarm(name: string) {
    return this.noSnapshots(name);
  }
}
