/**
 * `--ks FILE`: the part of a kickstart that describes a system's users and first boot,
 * applied to a bootc VM. Anaconda does not install bootc images here — `bootc install`
 * does, or nothing does (ephemeral mode) — so disk layout, boot loader, packages and
 * installer behaviour have no meaning and are refused by name. What is applied becomes
 * shell steps of the first-boot unit (firstboot.ts); every value from the file is checked
 * against a rule or shell-quoted, because a kickstart is a file users download.
 */
import { BootcError } from "../core/errors.js";
import { USER_RE } from "../core/schema.js";
import { credentialFile, shellQuote as sh, type FirstBootInput } from "./firstboot.js";
import { KickstartSyntaxError, parseKickstart, parseOptions, type KsCommand, type KsSection, type OptionSpec } from "./kickstart-parse.js";
import { hashPassword, isCryptHash } from "./password.js";

export const KICKSTART_MAX_BYTES = 256 * 1024;

const DISK_LAYOUT = new Set([
  "autopart",
  "bootloader",
  "btrfs",
  "clearpart",
  "fcoe",
  "ignoredisk",
  "iscsi",
  "iscsiname",
  "logvol",
  "mount",
  "nvdimm",
  "ostreecontainer",
  "ostreesetup",
  "part",
  "partition",
  "raid",
  "reqpart",
  "snapshot",
  "volgroup",
  "zerombr",
  "zfcp",
  "zipl",
  "liveimg",
  "url",
  "cdrom",
  "harddrive",
  "nfs",
  "install",
  "upgrade",
]);
const APPLIED = "rootpw, user, sshkey, timezone, keyboard, lang, network --hostname and %post";
/**
 * pykickstart's other commands. Only a word from a list is ever quoted back: a file that is
 * not a kickstart (/etc/shadow, /proc/self/environ) must not have its first line printed.
 */
const OTHER_COMMANDS = new Set([
  "auth",
  "authconfig",
  "authselect",
  "autostep",
  "cmdline",
  "device",
  "deviceprobe",
  "dmraid",
  "driverdisk",
  "eula",
  "firewall",
  "firstboot",
  "graphical",
  "group",
  "halt",
  "hmc",
  "interactive",
  "langsupport",
  "lilo",
  "lilocheck",
  "logging",
  "mediacheck",
  "method",
  "module",
  "monitor",
  "mouse",
  "multipath",
  "poweroff",
  "realm",
  "reboot",
  "repo",
  "rescue",
  "rhsm",
  "selinux",
  "services",
  "shutdown",
  "skipx",
  "sshpw",
  "syspurpose",
  "text",
  "timesource",
  "updates",
  "vnc",
  "xconfig",
]);

const SPECS: Record<string, OptionSpec> = {
  rootpw: { flags: ["--iscrypted", "--plaintext", "--lock", "--allow-ssh"] },
  user: { values: ["--name", "--password", "--groups", "--homedir", "--shell", "--uid", "--gid", "--gecos"], flags: ["--iscrypted", "--plaintext", "--lock"] },
  sshkey: { values: ["--username"] },
  timezone: { values: ["--ntpservers"], flags: ["--utc", "--isUtc", "--nontp"] },
  keyboard: { values: ["--vckeymap", "--xlayouts", "--switch"] },
  lang: { values: ["--addsupport"] },
  network: {
    values: ["--hostname", "--bootproto", "--device", "--onboot", "--ip", "--netmask", "--gateway", "--nameserver", "--ipv6"],
    flags: ["--activate", "--noipv4", "--noipv6"],
  },
  post: { values: ["--interpreter", "--log"], flags: ["--erroronfail", "--nochroot"] },
};

const TZ_RE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
const WORD_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const PATH_RE = /^\/[A-Za-z0-9_./+-]{1,255}$/;

class Refused extends Error {
  constructor(
    readonly line: number,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

function check(value: string, rule: RegExp, what: string, line: number): string {
  if (!rule.test(value) || value.includes(".."))
    throw new Refused(line, `${JSON.stringify(value).slice(0, 80)} is not ${what}`, "fix that value in the kickstart");
  return value;
}

function one(cmd: KsCommand, positionals: string[], what: string): string {
  if (positionals.length !== 1)
    throw new Refused(
      cmd.line,
      `${cmd.name} takes one ${what}${positionals.length ? `, got ${positionals.length} words` : ""}`,
      "quote a value that has spaces",
    );
  return positionals[0]!;
}

/** The crypt hash for a kickstart password: as given with --iscrypted, else hashed here. */
function passwordHash(value: string, crypted: boolean, line: number): string {
  if (!crypted) return hashPassword(value);
  if (!isCryptHash(value))
    throw new Refused(
      line,
      "the --iscrypted password is not a crypt(3) hash",
      "give a hash such as the output of `openssl passwd -6`, or drop --iscrypted for a plain-text password",
    );
  return value;
}

interface Translation {
  steps: string[];
  files: FirstBootInput["files"];
  passwords: string[];
  /** Steps of %post sections: they run after everything else, as Anaconda runs them after installing. */
  postSteps: string[];
  posts: number;
}

function command(cmd: KsCommand, t: Translation): void {
  const spec = SPECS[cmd.name];
  if (!spec) {
    if (DISK_LAYOUT.has(cmd.name))
      throw new Refused(
        cmd.line,
        `the kickstart command "${cmd.name}" is not supported: disk layout and installation source come from bootc install (or the image itself in ephemeral mode)`,
        `remove the ${cmd.name} line`,
      );
    if (OTHER_COMMANDS.has(cmd.name))
      throw new Refused(
        cmd.line,
        `the kickstart command "${cmd.name}" is not applied by bootc-console, which applies ${APPLIED}`,
        `remove the ${cmd.name} line`,
      );
    throw new Refused(cmd.line, "this is not a kickstart command", "check that the file is a kickstart; bootc-console applies " + APPLIED);
  }
  const o = parseOptions(cmd.name, cmd.args, spec, cmd.line);
  switch (cmd.name) {
    case "rootpw": {
      if (o.flags.has("--lock") && !o.positionals.length) {
        t.steps.push("usermod -L root");
        return;
      }
      t.passwords.push(`root:${passwordHash(one(cmd, o.positionals, "password"), o.flags.has("--iscrypted"), cmd.line)}`);
      if (o.flags.has("--lock")) t.steps.push("usermod -L root");
      return;
    }
    case "user": {
      const name = o.values.get("--name");
      if (!name) throw new Refused(cmd.line, "user needs --name", "user --name=NAME [--password=… --iscrypted] [--groups=wheel]");
      check(name, USER_RE, "a user name", cmd.line);
      const add = ["useradd", "-m"];
      const homedir = o.values.get("--homedir");
      if (homedir) add.push("-d", sh(check(homedir, PATH_RE, "a home directory", cmd.line)));
      const shell = o.values.get("--shell");
      if (shell) add.push("-s", sh(check(shell, PATH_RE, "a shell path", cmd.line)));
      for (const opt of ["--uid", "--gid"] as const) {
        const id = o.values.get(opt);
        if (id !== undefined) add.push(opt === "--uid" ? "-u" : "-g", check(id, /^\d{1,9}$/, `a number for ${opt}`, cmd.line));
      }
      const gecos = o.values.get("--gecos");
      if (gecos !== undefined) add.push("-c", sh(check(gecos, /^[^:\n]{0,128}$/, "a GECOS field (no ':')", cmd.line)));
      t.steps.push(`id -u ${name} >/dev/null 2>&1 || ${add.join(" ")} ${name}`);
      for (const group of (o.values.get("--groups") ?? "").split(",").filter(Boolean)) {
        check(group, USER_RE, "a group name", cmd.line);
        t.steps.push(`getent group ${group} >/dev/null || groupadd ${group}`, `usermod -a -G ${group} ${name}`);
      }
      const password = o.values.get("--password");
      if (password !== undefined) t.passwords.push(`${name}:${passwordHash(password, o.flags.has("--iscrypted"), cmd.line)}`);
      if (o.flags.has("--lock")) t.steps.push(`usermod -L ${name}`);
      return;
    }
    case "sshkey": {
      const user = o.values.get("--username");
      if (!user) throw new Refused(cmd.line, "sshkey needs --username", 'sshkey --username=NAME "ssh-ed25519 AAAA…"');
      check(user, USER_RE, "a user name", cmd.line);
      const key = check(
        one(cmd, o.positionals, "quoted key"),
        /^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [^\n]{0,256})?$/,
        "an SSH public key",
        cmd.line,
      );
      t.steps.push(
        `home=$(getent passwd ${user} | cut -d: -f6); test -n "$home" || { echo "sshkey: no user ${user}"; exit 1; }`,
        `install -d -m 0700 -o ${user} -g "$(id -g ${user})" "$home/.ssh"`,
        `printf '%s\\n' ${sh(key)} >> "$home/.ssh/authorized_keys"`,
        `chown ${user}: "$home/.ssh/authorized_keys"; chmod 0600 "$home/.ssh/authorized_keys"`,
      );
      return;
    }
    case "timezone": {
      const tz = check(one(cmd, o.positionals, "time zone"), TZ_RE, "a time zone such as Europe/Prague", cmd.line);
      t.steps.push(
        `if [ -e /usr/share/zoneinfo/${tz} ]; then ln -sf ../usr/share/zoneinfo/${tz} /etc/localtime; else echo "timezone: the image has no zone ${tz} (tzdata)"; fi`,
      );
      return;
    }
    case "keyboard": {
      const keymap = o.values.get("--vckeymap") ?? o.positionals[0];
      const layouts = o.values.get("--xlayouts");
      const lines: string[] = [];
      if (keymap) lines.push(`KEYMAP=${check(keymap, WORD_RE, "a console keymap", cmd.line)}`);
      if (layouts) lines.push(`XKBLAYOUT=${check(layouts.split(",")[0]!.trim().split(" ")[0]!, WORD_RE, "a keyboard layout", cmd.line)}`);
      if (!lines.length) throw new Refused(cmd.line, "keyboard needs a keymap", "keyboard --vckeymap=us (or --xlayouts=us)");
      t.steps.push(`printf '%s\\n' ${lines.map(sh).join(" ")} > /etc/vconsole.conf`);
      return;
    }
    case "lang": {
      const lang = check(one(cmd, o.positionals, "locale"), WORD_RE, "a locale such as en_US.UTF-8", cmd.line);
      t.steps.push(`echo LANG=${lang} > /etc/locale.conf`);
      return;
    }
    case "network": {
      const bootproto = o.values.get("--bootproto");
      const static_ = ["--ip", "--netmask", "--gateway", "--nameserver", "--ipv6"].some((k) => o.values.has(k));
      if (o.positionals.length || static_ || (bootproto && bootproto !== "dhcp")) {
        throw new Refused(
          cmd.line,
          "network settings other than --hostname are not applied: the VM's network is qemu's user network, configured by DHCP",
          "keep only network --hostname=NAME (and --bootproto=dhcp)",
        );
      }
      const hostname = o.values.get("--hostname");
      if (hostname) {
        check(hostname, HOSTNAME_RE, "a host name", cmd.line);
        // As installers do: the name resolves (sudo, for one, looks it up).
        t.steps.push(
          `echo ${hostname} > /etc/hostname`,
          `hostname ${hostname}`,
          `grep -q '[[:space:]]${hostname}$' /etc/hosts || echo '127.0.1.1 ${hostname}' >> /etc/hosts`,
        );
      }
      return;
    }
  }
}

function section(s: KsSection, t: Translation): void {
  if (s.name === "include" || s.name === "ksappend")
    throw new Refused(s.line, `%${s.name} is not supported: the kickstart would read another file`, "give one self-contained kickstart file");
  if (s.name === "packages")
    throw new Refused(
      s.line,
      "%packages is not supported: packages come from the image",
      "install them in the image's Containerfile and remove the %packages section",
    );
  if (s.name !== "post")
    throw new Refused(s.line, `the %${s.name} section is not supported: bootc-console applies ${APPLIED}`, `remove the %${s.name} section`);
  const o = parseOptions("%post", s.args, SPECS.post!, s.line);
  if (o.flags.has("--nochroot"))
    throw new Refused(
      s.line,
      "%post --nochroot has no meaning here: there is no installer environment outside the system",
      "drop --nochroot; the script runs in the booted system",
    );
  if (o.positionals.length)
    throw new Refused(s.line, `%post takes no argument ${JSON.stringify(o.positionals[0])}`, "use --interpreter=PATH, --log=FILE or --erroronfail");
  const interpreter = check(o.values.get("--interpreter") ?? "/bin/sh", PATH_RE, "an interpreter path", s.line);
  const n = ++t.posts;
  t.files.push({ name: `post-${n}`, content: s.body });
  const log = o.values.get("--log");
  const run = log
    ? `${interpreter} ${credentialFile(`post-${n}`)} >> ${sh(check(log, PATH_RE, "a log file path", s.line))} 2>&1`
    : `${interpreter} ${credentialFile(`post-${n}`)}`;
  const what = `%post from line ${s.line}`;
  t.postSteps.push(`echo ${sh(`bootc-console: running ${what}`)}`);
  t.postSteps.push(
    o.flags.has("--erroronfail")
      ? `${run} || { rc=$?; echo ${sh(`${what} failed`)} "(exit $rc); stopping"; exit $rc; }`
      : `${run} || echo ${sh(`${what} failed`)} "(exit $?)"`,
  );
}

/**
 * Translates a kickstart into first-boot work. Throws a BootcError naming the file, the
 * line and what is wrong for anything it will not apply.
 */
export function translateKickstart(text: string, file = "kickstart"): FirstBootInput {
  if (Buffer.byteLength(text) > KICKSTART_MAX_BYTES)
    throw new BootcError(
      "INVALID_ARGUMENT",
      `${file} is larger than ${KICKSTART_MAX_BYTES / 1024} KiB`,
      "a kickstart for bootc-console holds users, settings and %post scripts only",
    );
  const t: Translation = { steps: [], files: [], passwords: [], postSteps: [], posts: 0 };
  try {
    for (const item of parseKickstart(text)) {
      if (item.kind === "command") command(item, t);
      else section(item, t);
    }
  } catch (e) {
    if (e instanceof Refused) throw new BootcError("INVALID_ARGUMENT", `${file} line ${e.line}: ${e.message}`, e.hint);
    if (e instanceof KickstartSyntaxError)
      throw new BootcError("INVALID_ARGUMENT", `${file} line ${e.line}: ${e.message}`, "fix the kickstart's syntax (quotes, %end)");
    throw e;
  }
  // Users exist before their passwords are set; passwords before any %post runs.
  if (t.passwords.length) {
    t.files.push({ name: "ks-passwd", content: t.passwords.join("\n") + "\n", secret: true });
    t.steps.push(`chpasswd -e < ${credentialFile("ks-passwd")}`);
  }
  return { steps: [...t.steps, ...t.postSteps], files: t.files };
}
