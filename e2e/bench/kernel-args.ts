/**
 * Kernel arguments of an emulated boot, side by side (prints figures; not a test). Boots the
 * demo image twice at once with plain qemu + virtiofsd (../lib/plain-qemu.ts) as the engine
 * does under TCG (virtiofs cache=always, the boot log on a virtio console, one thread per
 * guest): once with the engine's arguments before `init_on_alloc=0 mitigations=off`, once
 * with them. Two guests at once on two cores see the same host: this host's speed moved by
 * a fifth between rounds run one after the other, more than the difference measured.
 * Any two configurations below can be compared the same way (default: the first two);
 * the arm64 ones with IMAGE=localhost/bootc-demo-arm64:latest. IMAGE_B boots another image
 * for the second configuration (two builds of the demo's recipe, say; the same CONFIG twice).
 *   ROUNDS=4 [IMAGE=...] [IMAGE_B=...] npx tsx e2e/bench/kernel-args.ts [CONFIG CONFIG]
 */
import { plainQemuBoot, type PlainBootOptions } from "../lib/plain-qemu.js";

const ENGINE_BEFORE = ["systemd.default_device_timeout_sec=600", "8250.nr_uarts=1"];
// As the engine booted under TCG when the cores are busy, before its 256 MiB translation
// cache ("tb-size=256" below is the engine now).
const engineLike: PlainBootOptions = { accel: "tcg,thread=single", smp: 2, cache: "always", console: "hvc0", append: ENGINE_BEFORE };
/** engineLike with a translation cache of `mib` MiB instead of qemu's 1 GiB. */
const tbSize = (mib: number, base: PlainBootOptions = engineLike): PlainBootOptions => ({ ...base, accel: `tcg,thread=single,tb-size=${mib}` });
/** q35 as the engine gives an x86_64 guest now (engine/host/q35.ts). */
const LEAN_Q35 = "q35,sata=off,smbus=off,i8042=off,vmport=off";
const configs: Record<string, PlainBootOptions> = {
  before: engineLike,
  "init_on_alloc=0 mitigations=off": { ...engineLike, append: [...ENGINE_BEFORE, "init_on_alloc=0", "mitigations=off"] },
  // One vCPU: single-threaded TCG runs every vCPU on one host thread, so a second one adds
  // SMP bring-up, IPIs and TLB shootdowns without a second thread to run on.
  "smp=1": { ...engineLike, smp: 1 },
  // Half the engine's default memory (many tests pass --memory 1G): fewer struct pages for
  // the kernel to set up.
  "memory=1G": { ...engineLike, memoryMiB: 1024 },
  // A smaller translation cache than qemu's 1 GiB for system emulation: a boot fills ~700 MiB
  // of it, every page of which the host must fault in (and zero) first.
  "tb-size=256": tbSize(256),
  "tb-size=128": tbSize(128),
  "tb-size=64": tbSize(64),
  // The engine's translation cache (above), with the guest's transparent huge pages off: a
  // guest that faults in a 2 MiB page zeroes it with emulated stores.
  "tb-size=256 thp=never": { ...tbSize(256), append: [...ENGINE_BEFORE, "transparent_hugepage=never"] },
  // ... and with a newer named CPU model than qemu's default qemu64 (SSE4.2, POPCNT): the
  // guest's glibc and kernel pick other string and bit routines for it.
  "tb-size=256 cpu=Nehalem": { ...tbSize(256), cpu: "Nehalem" },
  // An AMD model (as qemu64 is: no Meltdown page-table isolation in the guest) with AVX2.
  "tb-size=256 cpu=EPYC": { ...tbSize(256), cpu: "EPYC" },
  // q35 without the board's devices no guest of the engine uses: the SATA controller (the
  // guest loads ahci, libata and scsi_mod and probes six ports), the SMBus (i2c_i801), the
  // PS/2 controller (psmouse probes its protocols) and VMware's I/O port.
  "tb-size=256 lean-q35": { ...tbSize(256), machine: LEAN_Q35 },
  // ... and with the devices libvirt adds to a q35 domain unless told not to: a USB
  // controller (qemu-xhci) and a memory balloon.
  "lean-q35 libvirt-defaults": { ...tbSize(256), machine: LEAN_Q35, devices: ["qemu-xhci", "virtio-balloon-pci"] },
  // ... and each half of it.
  "tb-size=256 no-sata-smbus": { ...tbSize(256), machine: "q35,sata=off,smbus=off" },
  "tb-size=256 no-i8042-vmport": { ...tbSize(256), machine: "q35,i8042=off,vmport=off" },
  // The arm64 demo (IMAGE=localhost/bootc-demo-arm64:latest) as the engine emulates it:
  // qemu's "max" CPU with its cheap pointer authentication ...
  arm64: { ...engineLike, arch: "aarch64" },
  // ... against "max" without the scalable vector extensions, which the guest's glibc and
  // kernel would otherwise use (each SVE instruction a helper call under TCG; 256 bytes of
  // vector state per register saved at a context switch) ...
  "arm64 sve=off": { ...engineLike, arch: "aarch64", cpu: "max,pauth-impdef=on,sve=off,sme=off" },
  // ... and a named server core (Armv8.2, no pointer authentication or SVE to emulate).
  "arm64 neoverse-n1": { ...engineLike, arch: "aarch64", cpu: "neoverse-n1" },
  // ... and with the smaller translation cache.
  "arm64 tb-size=256": tbSize(256, { ...engineLike, arch: "aarch64" }),
};
const rounds = Number(process.env.ROUNDS ?? 4);
const image = process.env.IMAGE ?? "localhost/bootc-demo:latest";
const imageB = process.env.IMAGE_B;
const picked = process.argv.length > 2 ? process.argv.slice(2, 4) : Object.keys(configs).slice(0, 2);
for (const n of picked) if (!configs[n]) throw new Error(`unknown configuration ${n}; one of ${Object.keys(configs).join(", ")}`);
// Each side by its label: the configuration, and the image when IMAGE_B makes them differ.
const sides = picked.map((config, i) => ({ config, image: i === 1 && imageB ? imageB : image }));
const names = sides.map((s) => (imageB ? `${s.config} (${s.image})` : s.config));
const cpu = new Map<string, number[]>(names.map((n) => [n, []]));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

for (let round = 1; round <= rounds; round++) {
  // Which one starts first alternates, so neither always has the head start.
  const order = round % 2 ? sides.map((_, k) => k) : sides.map((_, k) => k).reverse();
  const results = await Promise.all(
    order.map(async (k, i) => {
      await new Promise((r) => setTimeout(r, i * 500));
      return [names[k]!, await plainQemuBoot(sides[k]!.image, { timeoutMs: 300_000, ...configs[sides[k]!.config]! })] as const;
    }),
  );
  const line = results
    .map(([n, r]) => {
      if (r.qemuCpuMs !== undefined && r.sshReadyMs !== undefined) cpu.get(n)!.push(r.qemuCpuMs);
      return `${n}: ssh-ready ${r.sshReadyMs ?? "never"} ms, qemu CPU ${r.qemuCpuMs ?? "?"} ms`;
    })
    .join("; ");
  console.log(`round ${round}  ${line}`);
}
const [a, b] = names.map((n) => median(cpu.get(n)!));
console.log(`\nmedian qemu CPU to SSH: ${names[0]} ${(a! / 1000).toFixed(1)} s, ${names[1]} ${(b! / 1000).toFixed(1)} s (ratio ${(b! / a!).toFixed(2)})`);
