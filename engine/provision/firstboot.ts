/**
 * Work the guest does once, early in its first boot, before anyone can log in: setting
 * passwords, the parts of a kickstart that describe users and settings, its %post
 * scripts. It reaches the guest as systemd credentials only — a unit
 * (`systemd.extra-unit.*`), a drop-in that pulls it into the boot
 * (`systemd.unit-dropin.*`), and the script and its inputs as credentials the unit
 * imports — so the image needs nothing installed for it. Those credentials are read by
 * systemd-debug-generator from systemd 256 on.
 *
 * Everything here is a pure function of typed input; values that come from the user are
 * quoted for the shell with `shellQuote` by whoever puts them into a step.
 */
import type { Credential } from "./transport.js";

export const FIRSTBOOT_MIN_SYSTEMD = 256;
export const FIRSTBOOT_UNIT = "bootc-console-firstboot.service";
/** Present once the first boot's work finished: a persistent disk does it once. */
export const FIRSTBOOT_DONE = "/var/lib/bootc-console/firstboot-done";
const PREFIX = "bootc-console.";

/** One shell word, whatever the text: single-quoted, with ' written as '\''. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export interface FirstBootInput {
  /** Shell commands, already quoted, run in order under `set -e`. */
  steps: string[];
  /** Extra files the steps use, as credentials named bootc-console.<name>; the script finds them in "$CREDENTIALS_DIRECTORY". */
  files: Array<{ name: string; content: string; secret?: boolean }>;
}

/** The path a step uses for one of `files`. */
export const credentialFile = (name: string) => `"$CREDENTIALS_DIRECTORY/${PREFIX}${name}"`;

function unit(): string {
  return [
    "[Unit]",
    "Description=bootc-console first-boot configuration",
    // Units from credentials are added to the initrd too: this one is for the real root.
    "ConditionPathExists=!/etc/initrd-release",
    `ConditionPathExists=!${FIRSTBOOT_DONE}`,
    "After=systemd-sysusers.service systemd-tmpfiles-setup.service local-fs.target",
    // Nobody logs in, on a console or over SSH, before passwords and users are in place.
    "Before=systemd-user-sessions.service getty.target ssh.service sshd.service",
    "",
    "[Service]",
    "Type=oneshot",
    "RemainAfterExit=yes",
    `ImportCredential=${PREFIX}*`,
    // The output of %post scripts belongs in the serial log, where the user watches the boot.
    "StandardOutput=journal+console",
    "StandardError=journal+console",
    `ExecStart=/bin/sh %d/${PREFIX}firstboot`,
    "",
  ].join("\n");
}

function script(steps: string[]): string {
  return [
    "#!/bin/sh",
    "set -e",
    "echo 'bootc-console: first-boot configuration'",
    ...steps,
    `mkdir -p ${FIRSTBOOT_DONE.replace(/\/[^/]+$/, "")}`,
    `: > ${FIRSTBOOT_DONE}`,
    "",
  ].join("\n");
}

/** The credentials that run `input.steps` once at first boot; none when there is nothing to do. */
export function firstBootCredentials(input: FirstBootInput): Credential[] {
  if (!input.steps.length) return [];
  return [
    { name: `systemd.extra-unit.${FIRSTBOOT_UNIT}`, value: unit() },
    { name: "systemd.unit-dropin.sysinit.target", value: `[Unit]\nWants=${FIRSTBOOT_UNIT}\n` },
    { name: `${PREFIX}firstboot`, value: script(input.steps) },
    ...input.files.map((f) => ({ name: `${PREFIX}${f.name}`, value: f.content, ...(f.secret ? { secret: true } : {}) })),
  ];
}

/** A drop-in for the serial console's getty that logs `user` in without a password. */
export function autologinCredential(user: string, tty: string): Credential {
  return {
    name: `systemd.unit-dropin.serial-getty@${tty}.service`,
    value: ["[Service]", "ExecStart=", `ExecStart=-/sbin/agetty --autologin ${user} --noclear --keep-baud 115200,57600,38400,9600 - $TERM`, ""].join("\n"),
  };
}
