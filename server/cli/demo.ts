import { buildDemoImage, DEMO_VARIANTS } from "../../engine/demo/build.js";
import { BootcError } from "../../engine/core/errors.js";
import { guestArchFlag } from "../../engine/host/arch.js";
import { oneOf, parseCommand, printJson } from "./output.js";

const HELP = `Usage: bootc demo build [--variant base|cloud] [--arch amd64|arm64] [--force] [--quiet] [--json]

Builds localhost/bootc-demo offline from Debian packages: Debian 13 with systemd,
OpenSSH (key logins only), networkd, the Debian kernel and a dracut initramfs, laid out
like a bootc image and labelled containers.bootc=1. Needs root and debootstrap, and
takes about two minutes. If the image exists and its recipe is unchanged, it does
nothing. --force rebuilds anyway; --quiet prints only the steps.
--variant cloud builds localhost/bootc-demo-cloud: the same image with Debian's
cloud-init (NoCloud only), to try --cloudinit.
--arch arm64 on an x86_64 host (or amd64 on an arm64 one) builds that architecture's image,
named after it (localhost/bootc-demo-arm64), from Debian's packages for it: every
package's scripts run emulated by qemu-user-static through binfmt_misc (scripts/setup.sh
--tests installs and registers it), so it takes 15 to 40 minutes on a 2-core host instead of two.
Environment: BOOTC_DEMO_MIRROR (Debian mirror URL), BOOTC_DEMO_SUITE (default trixie).`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: {
        variant: { type: "string" },
        arch: { type: "string" },
        force: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
        json: { type: "boolean" },
      },
    },
    HELP,
  );
  if (positionals[0] !== "build" || positionals.length > 1) {
    throw new BootcError(
      "INVALID_ARGUMENT",
      positionals[0] ? `unknown demo command "${positionals.join(" ")}"` : "no demo command given",
      "usage: bootc demo build",
    );
  }
  const result = await buildDemoImage({
    force: values.force,
    variant: oneOf("variant", values.variant, DEMO_VARIANTS),
    arch: values.arch === undefined ? undefined : guestArchFlag(values.arch),
    onLog: (line) => {
      if (values.json) return;
      if (line.startsWith("==>")) console.log(line);
      else if (!values.quiet) console.log(`    ${line}`);
    },
  });
  if (values.json) printJson(result);
  return 0;
}
