/**
 * Everything a VM's boot hands the guest for its first-boot configuration, put together
 * by the monitor at each boot: the credentials (key, shares, users, password, autologin,
 * kickstart) over the chosen transport, and the cloud-init seed. Returns qemu and kernel
 * arguments, and a close() for what lives as long as the VM (the IMDS server).
 */
import { readFile, rm } from "node:fs/promises";
import { BootcError } from "../core/errors.js";
import type { HostArch } from "../host/tools.js";
import type { EnginePaths, VmPaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { consoleDevice } from "../host/machine.js";
import type { VmRecord } from "../core/record.js";
import { imdsArgs, makeSeedIso, seedIsoArgs, startImds } from "./cloudinit.js";
import { guestCredentials, ProvisionError, type GuestShare } from "./credentials.js";
import { translateKickstart } from "./kickstart.js";
import { writePrivateFile } from "../core/private-file.js";
import { credentialPlan, CredentialTransportError, defaultTransport, type CredentialTransport } from "./transport.js";
import { espCredentialFiles } from "./esp-credentials.js";

export interface GuestFactsForBoot {
  systemd?: number;
  /** The image's users; undefined when unknown. */
  users?: string[];
  /** The engine writes the kernel command line (false for UEFI boots). */
  directKernel: boolean;
  firmware: boolean;
}

export interface Provisioning {
  qemuArgs: string[];
  kernelArgs: string[];
  warnings: string[];
  via: CredentialTransport;
  /** The esp transport: files for the disk's EFI system partition (paths inside it), which the runtime writes before qemu starts. */
  espFiles?: Array<{ path: string; content: string }>;
  close(): Promise<void>;
}

export async function prepareProvisioning(o: {
  record: VmRecord;
  paths: EnginePaths;
  vp: VmPaths;
  arch: HostArch;
  facts: GuestFactsForBoot;
  publicKey?: string;
  shares: GuestShare[];
}): Promise<Provisioning> {
  const r = o.record;
  const via = r.credentialTransport ?? defaultTransport(o.arch, o.facts.firmware);
  const passwordHash = r.passwordSet ? (await readFile(o.vp.passwordHash, "utf8")).trim() : undefined;
  const firstBoot = r.kickstart ? translateKickstart(await readFile(o.vp.kickstart, "utf8"), "the kickstart") : undefined;
  let creds;
  let plan;
  try {
    creds = guestCredentials({
      user: r.sshUser,
      publicKey: o.publicKey,
      shares: o.shares,
      systemd: o.facts.systemd,
      imageUsers: o.facts.users,
      passwordHash,
      autologinTty: r.autologin ? consoleDevice(o.arch) : undefined,
      firstBoot,
    });
    plan = credentialPlan(creds.credentials, via, o.vp.credentialsDir, o.facts.directKernel);
  } catch (e) {
    if (e instanceof ProvisionError || e instanceof CredentialTransportError)
      throw new BootcError("BOOT_FAILED", e.message, "boot without that option, or use an image with a newer systemd");
    throw e;
  }
  await rm(o.vp.credentialsDir, { recursive: true, force: true });
  await ensurePrivateDir(o.vp.credentialsDir, o.paths);
  for (const f of plan.files) await writePrivateFile(f.path, f.content);

  const qemuArgs = [...plan.qemuArgs];
  let close = async () => undefined as void;
  if (r.cloudInit?.transport === "cdrom") {
    await makeSeedIso(o.vp.cloudInit, o.vp.cloudInitSeed);
    qemuArgs.push(...seedIsoArgs(o.vp.cloudInitSeed));
  } else if (r.cloudInit?.transport === "imds") {
    const imds = await startImds(o.vp.cloudInit);
    // Without SMBIOS (an arm64 boot without firmware) cloud-init reads the kernel command line.
    if (o.arch === "x86_64" || o.facts.firmware) qemuArgs.push(...imdsArgs(imds.guestUrl));
    else plan.kernelArgs.push(`ds=nocloud;s=${imds.guestUrl}`);
    close = () => imds.close();
  }
  const espFiles = plan.esp ? espCredentialFiles(plan.esp) : undefined;
  return { qemuArgs, kernelArgs: plan.kernelArgs, warnings: creds.warnings, via, ...(espFiles ? { espFiles } : {}), close };
}
