/**
 * bootc-console's engine as a library (package export "bootc-console/engine"): images,
 * VMs and their monitors, host checks. No knowledge of HTTP, the CLI or React.
 */
export { BootcError, isBootcError, type ErrorCode } from "./core/errors.js";
export { enginePaths, vmPaths, type EnginePaths } from "./core/paths.js";
export { Engine } from "./vm/manager.js";
export type { VmInfo, VmEvent, ConsoleAttachment } from "./core/vm.js";
export type { VmRuntime, CreateRequest, StopOptions, Listing } from "./runtime/runtime.js";
export { VM_STATES, ACTIVE_STATES, type VmRecord, type VmState } from "./core/record.js";
export { parseBind, parseCloudInit, parseMemory, parsePortForward } from "./core/options.js";
export { CREDENTIAL_TRANSPORTS, RunOptionsSchema, validateName, type RunOptions } from "./core/schema.js";
export { runOptionFacts, type OptionFacts } from "./core/option-facts.js";
export { translateKickstart } from "./provision/kickstart.js";
export type { CredentialTransport } from "./provision/transport.js";
export { listImages, inspectImage, type ImageSummary, type ImageDetails } from "./images/images.js";
export { buildImage, type BuildOptions } from "./images/build.js";
export type { BootReport } from "./insight/report.js";
export type { BootComparison, Change as BootChange } from "./insight/compare.js";
export { WatchLoop, type WatchEvent, type WatchOptions } from "./vm/watch.js";
export { listCache, listDisks, pruneDisks, removeDisk, type CacheInfo, type DiskInfo, type RootInfo } from "./disk/disks.js";
export type { DiskEntry } from "./disk/cache.js";
export type { DiskProgress } from "./disk/progress.js";
export { pullImage, removeImage } from "./images/pull.js";
export { buildDemoImage, DEMO_IMAGE, DEMO_CLOUD_IMAGE, DEMO_VARIANTS, type DemoBuildResult, type DemoVariant } from "./demo/build.js";
export { runDoctor, type DoctorReport, type DoctorRow } from "./doctor/doctor.js";
export { detectAccel, decideAccel, type Accel, type AccelChoice } from "./host/accel.js";
export { buildQemuArgs, type QemuSpec } from "./runtime/direct/qemu-args.js";
export { parseConnection, type Connection } from "./runtime/libvirt/connection.js";
export { addHost, removeHost, knownHosts, type Host, type SavedHost } from "./runtime/libvirt/hosts.js";
export { domainXml, type DomainSpec } from "./runtime/libvirt/domain.js";
export type { LibvirtRuntime } from "./runtime/libvirt/vms.js";
export type { DirectRuntime } from "./runtime/direct/vms.js";
