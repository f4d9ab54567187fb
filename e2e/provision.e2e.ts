/**
 * First-boot configuration a podman-bootc user brings, on real guests: -u with a user the
 * image lacks, --inj-ssh-identity, --ks (users, keys, settings, %post), --password for an
 * image without sshd, --autologin, --cloudinit over both transports — and each credential
 * transport (SMBIOS, fw_cfg, kernel command line) proven by a working key. Boots are
 * shared: each VM carries several of these at once.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_BANNER, DEMO_IMAGE, makeHome, processesUsing, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const DEMO_CLOUD_IMAGE = "localhost/bootc-demo-cloud:latest";
const NOSSH_IMAGE = "localhost/bootc-demo-nossh:e2e";
const home = makeHome();
const mounts = await watchImageMounts("provision.e2e.ts");

interface Vm {
  name: string;
  sshPort?: number;
  state: string;
  credentialsVia?: string;
  qemuArgs?: string[];
  passwordSet?: boolean;
}

/** Runs a shell command line in the guest as the VM's user. */
const ssh = (name: string, script: string) => bootc(home, ["ssh", name, "--", script]);

/** Root's bash prompt. Kernel or cloud-init lines may follow it on the same line, so no `$`. */
const SHELL_PROMPT = /root@[\w.-]+:[^\n]*# /;

/** Drives `bootc console NAME`: waits for text in the output, types, detaches. */
function consoleSession(name: string) {
  const con = bootc(home, ["console", name], { stdin: "pipe", buffer: false });
  let out = "";
  con.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  let mark = 0;
  return {
    /** Waits for `pattern` in what came after the last match. */
    async expect(pattern: RegExp, timeoutMs = 120_000): Promise<string> {
      const m = await waitUntil(`console output ${pattern}`, () => pattern.exec(out.slice(mark)) ?? undefined, timeoutMs, 200).catch(() => {
        throw new Error(`no ${pattern} on the console; it showed:\n${out.slice(-1500)}`);
      });
      mark += m.index + m[0].length;
      return m[0];
    },
    type: (text: string) => con.stdin?.write(text),
    async detach() {
      con.stdin?.write(Buffer.from([0x1d]));
      return con;
    },
    output: () => out,
  };
}

afterAll(async () => {
  const vms = await bootcJson<Vm[]>(home, ["list"]).catch(() => [] as Vm[]);
  for (const vm of vms) await bootc(home, ["rm", "--force", vm.name]);
  await execa("podman", ["rmi", "--force", NOSSH_IMAGE], { reject: false });
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe("bad first-boot input is refused with one sentence, before anything is made", () => {
  it.each([
    [["--ks", "KS"], /^error: bad\.ks line 2: the kickstart command "autopart" is not supported: disk layout and installation source come from bootc install/m],
    [["--cloudinit", "imds:/nonexistent/seed"], /^error: cloud-init directory \/nonexistent\/seed does not exist/m],
    [
      ["--cloudinit", "imds:SEED"],
      /^error: --cloudinit imds serves the seed on the host's loopback, which a guest cannot reach unless --allow-host-loopback is given/m,
    ],
    [["--gen-ssh-identity", "--inj-ssh-identity"], /^error: --gen-ssh-identity makes a new key: it cannot be combined with --inj-ssh-identity/m],
    [["--password-file", "/nonexistent/pw"], /^error: cannot read the password file \/nonexistent\/pw/m],
    [["--password"], /^error: --password without a value asks on a terminal, and there is none/m],
    [["--credentials-via", "floppy"], /^error: .*credentials-via/m],
  ])("bootc run %j", async (flags, message) => {
    const ks = path.join(tempDir("bce-badks-"), "bad.ks");
    writeFileSync(ks, "lang C\nautopart --type=plain\n");
    const seed = tempDir("bce-badseed-");
    writeFileSync(path.join(seed, "user-data"), "#cloud-config\n");
    const r = await bootc(home, ["run", "--name", "bad", ...flags.map((f) => f.replace(/^KS$/, ks).replace(/SEED$/, seed)), DEMO_IMAGE], { stdin: "pipe" });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(message);
    expect(String(r.stderr)).not.toMatch(/\n\s+at /); // no stack trace
    expect(await bootcJson<Vm[]>(home, ["list"])).toEqual([]);
  });
});

describe("-u, --inj-ssh-identity and --ks, credentials through fw_cfg (unit credentials on the kernel command line)", () => {
  const userHome = tempDir("bce-user-");
  const ks = path.join(tempDir("bce-ks-"), "dev.ks");
  const rootHash = "$6$e2esalt$1aYqQPDr0cJ7o9YtHrWZtP2l7fC1TD7e3bqWWHXBv9q7Mb6nHqBkYyfM0kq3qlK1bxE7g2JvNvWQ4cU6sG8b0.";

  beforeAll(async () => {
    mkdirSync(path.join(userHome, ".ssh"), { mode: 0o700 });
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "me@host", "-f", path.join(userHome, ".ssh/id_ed25519")]);
    const devKey = readFileSync(path.join(userHome, ".ssh/id_ed25519.pub"), "utf8").trim();
    writeFileSync(
      ks,
      [
        "# a developer's kickstart, minus what an installer needs",
        "lang en_US.UTF-8",
        "keyboard --vckeymap=de",
        "timezone Europe/Prague --utc",
        "network --bootproto=dhcp --hostname=ks-box.example.com",
        `rootpw --iscrypted ${rootHash}`,
        'user --name=dev --groups=wheel,video --gecos="Dev User" \\',
        "     --password=devpass --plaintext",
        `sshkey --username=dev "${devKey}"`,
        "%post --log=/root/ks-post.log",
        'echo "post ran as $(id -un)" > /etc/ks-post',
        "echo visible-on-serial-console",
        "%end",
        "%post --interpreter=/bin/bash",
        "echo from-bash-post-$((6*7))",
        "%end",
      ].join("\n") + "\n",
    );
    const r = await bootc(
      home,
      ["run", "--name", "ks", "--memory", "1G", "-u", "alice", "--inj-ssh-identity", "--ks", ks, "--credentials-via", "fw_cfg", DEMO_IMAGE],
      { env: { HOME: userHome } },
    );
    expect(r.exitCode, String(r.all)).toBe(0);
  }, 600_000);
  // Gone once its tests are done: an idle TCG guest still costs CPU while the next ones boot.
  afterAll(async () => {
    await bootc(home, ["rm", "--force", "ks"]);
  });

  it("creates a -u user the image lacks, with a home and sudo, reached with the user's own key", async () => {
    const r = await ssh("ks", "id -un; echo $HOME; sudo -n id -un");
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stdout).trim().split("\n")).toEqual(["alice", "/home/alice", "root"]);
    // --inj-ssh-identity: plain ssh with the user's own key works, no bootc in between.
    const vm = await bootcJson<Vm>(home, ["inspect", "ks"]);
    const plain = await execa(
      "ssh",
      [
        "-i",
        path.join(userHome, ".ssh/id_ed25519"),
        "-p",
        String(vm.sshPort),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "alice@127.0.0.1",
        "id -un",
      ],
      { reject: false },
    );
    expect(plain.stdout.trim(), plain.stderr).toBe("alice");
    expect(vm.credentialsVia).toBe("fw_cfg");
    expect(vm.qemuArgs?.join(" ")).toMatch(/-fw_cfg name=opt\/io\.systemd\.credentials\/tmpfiles\.extra,file=/);
  });

  it("applies the kickstart's users, keys, password and settings, and runs %post once", async () => {
    const r = await ssh(
      "ks",
      "id dev; getent passwd dev | cut -d: -f5; sudo grep ^root: /etc/shadow | cut -d: -f2; sudo grep -c '^dev:[$]6[$]' /etc/shadow; sudo cat /home/dev/.ssh/authorized_keys; hostname; readlink /etc/localtime; cat /etc/locale.conf /etc/vconsole.conf /etc/ks-post; sudo grep -c visible-on-serial-console /root/ks-post.log; ls /var/lib/bootc-console",
    );
    expect(r.exitCode, String(r.all)).toBe(0);
    const out = String(r.stdout);
    const groups = /^uid=\d+\(dev\) .*groups=(.*)$/m.exec(out)?.[1] ?? "";
    expect(groups).toContain("(wheel)");
    expect(groups).toContain("(video)");
    expect(out).toContain("Dev User\n");
    expect(out).toContain(`${rootHash}\n`);
    expect(out).toContain("\n1\n"); // dev's password is a SHA-512 hash, never the clear text
    expect(out).toContain("me@host\n");
    expect(out).toContain("ks-box.example.com\n");
    expect(String(r.stderr)).not.toContain("unable to resolve host"); // the name is in /etc/hosts
    expect(out).toContain("../usr/share/zoneinfo/Europe/Prague\n");
    expect(out).toContain("LANG=en_US.UTF-8\nKEYMAP=de\npost ran as root\n1\nfirstboot-done");
    const log = await bootc(home, ["logs", "ks"]);
    expect(String(log.stdout)).toContain("from-bash-post-42");
  });
});

describe("--password for an image without sshd, credentials through SMBIOS", () => {
  const password = "correct horse battery";

  beforeAll(async () => {
    const ctx = tempDir("bce-nossh-");
    writeFileSync(path.join(ctx, "Containerfile"), `FROM ${DEMO_IMAGE}\nRUN ln -sf /dev/null /etc/systemd/system/ssh.service\n`);
    const b = await execa("podman", ["build", "--network=none", "-q", "-t", NOSSH_IMAGE, ctx], { reject: false });
    expect(b.exitCode, b.stderr).toBe(0);
    const pwFile = path.join(ctx, "pw");
    writeFileSync(pwFile, `${password}\n`);
    const r = await bootc(home, ["run", "--name", "nossh", "--memory", "1G", "--password-file", pwFile, NOSSH_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stdout)).toContain("nossh is up (no sshd in the image)");
  }, 600_000);
  afterAll(async () => {
    await bootc(home, ["rm", "--force", "nossh"]);
  });

  it("logs in on the serial console with the password", async () => {
    const con = consoleSession("nossh");
    await con.expect(new RegExp(DEMO_BANNER));
    await con.expect(/ login: /);
    con.type("root\r");
    await con.expect(/Password:/, 60_000);
    con.type(`${password}\r`);
    // Typed ahead, a command is eaten by login; wait for the shell.
    await con.expect(SHELL_PROMPT, 90_000);
    con.type("echo LOGGED-IN-$((6*7))\r");
    await con.expect(/LOGGED-IN-42/, 90_000);
    con.type("exit\r");
    expect((await con.detach()).exitCode).toBe(0);
  });

  it("keeps only the password's hash, in a private file, never in the record or qemu's command line", async () => {
    const vmDir = path.join(home, "state/vms/nossh");
    expect(readFileSync(path.join(vmDir, "password.hash"), "utf8")).toMatch(/^\$6\$/);
    expect(statSync(path.join(vmDir, "password.hash")).mode & 0o777).toBe(0o600);
    const record = readFileSync(path.join(vmDir, "vm.json"), "utf8");
    expect(record).not.toContain(password);
    expect(record).not.toContain("$6$");
    expect(JSON.parse(record)).toMatchObject({ passwordSet: true, credentialsVia: "smbios", state: "running" });
  });
});

describe("--cloudinit over both transports, with --autologin and credentials on the kernel command line", () => {
  const seed = tempDir("bce-cloud-");
  beforeAll(() => {
    writeFileSync(path.join(seed, "meta-data"), "instance-id: bootc-e2e\nlocal-hostname: cloudy\n");
    writeFileSync(
      path.join(seed, "user-data"),
      [
        "#cloud-config",
        "users:",
        "  - name: cloudy",
        "    gecos: From cloud-init",
        "    shell: /bin/bash",
        "write_files:",
        "  - path: /var/tmp/from-cloud-init",
        "    content: seeded-by-user-data",
        "",
      ].join("\n"),
    );
  });

  /**
   * A TCP listener on the host's 127.0.0.1, as `bootc serve` and every local-only service
   * is, and what a guest gets when it tries the addresses that lead to the host's loopback
   * under qemu's user network (10.0.2.2) or passt (its gateway, unless --no-map-gw).
   */
  const probeHostLoopback = async (name: string) => {
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push("connection");
      s.on("data", (d) => seen.push(d.toString().trim()));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await ssh(
        name,
        `gw=$(ip -4 route show default | awk '{print $3; exit}'); for a in $(printf '%s\\n' 10.0.2.2 $gw | sort -u); do if timeout 10 bash -c "echo from-guest-via-$a >/dev/tcp/$a/${port}" 2>/dev/null; then echo "reached $a"; else echo "not reached $a"; fi; done`,
      );
      expect(r.exitCode, String(r.all)).toBe(0);
      // A connection that got through was accepted before the guest's attempt returned; its line may still be on the way.
      if (seen.length) await waitUntil("the guest's line", () => seen.length > 1 || undefined, 10_000, 100);
      return { guest: String(r.stdout), seen };
    } finally {
      server.close();
    }
  };

  const checkSeeded = async (name: string) => {
    const r = await ssh(name, "cloud-init status --wait >/dev/null; getent passwd cloudy | cut -d: -f5; cat /var/tmp/from-cloud-init");
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stdout)).toBe("From cloud-init\nseeded-by-user-data");
  };

  it("cdrom: a cidata seed ISO; by default the guest's network reaches out but not the host's loopback", async () => {
    const r = await bootc(home, ["run", "--name", "cdrom", "--memory", "1G", "--cloudinit", seed, DEMO_CLOUD_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    await checkSeeded("cdrom");
    const vm = await bootcJson<Vm>(home, ["inspect", "cdrom"]);
    expect(vm.qemuArgs).toEqual(expect.arrayContaining([expect.stringMatching(/id=cidata,format=raw,readonly=on$/)]));
    expect(vm.qemuArgs).toEqual(expect.arrayContaining([expect.stringMatching(/^stream,id=net0,/)])); // passt

    const probe = await probeHostLoopback("cdrom");
    expect(probe.guest).toMatch(/^not reached 10\.0\.2\.2\nnot reached \d+\.\d+\.\d+\.\d+\n?$/);
    expect(probe.seen).toEqual([]);
    // DHCP gave it an address and a DNS server, and it reaches that server: out is open.
    const out = await ssh(
      "cdrom",
      "dns=$(grep -h '^DNS=' /run/systemd/netif/leases/* | head -1 | cut -d= -f2 | cut -d' ' -f1); echo \"dns $dns\"; timeout 10 bash -c \"echo >/dev/tcp/$dns/53\" && echo outbound-ok",
    );
    expect(String(out.stdout), String(out.all)).toMatch(/^dns \d+\.\d+\.\d+\.\d+\noutbound-ok$/);
    await bootc(home, ["rm", "--force", "cdrom"]);
  }, 900_000);

  it("imds: served from the host, announced in the SMBIOS serial; autologin; the key on the kernel command line", async () => {
    const r = await bootc(home, [
      "run",
      "--name",
      "imds",
      "--memory",
      "1G",
      "--cloudinit",
      `imds:${seed}`,
      "--allow-host-loopback",
      "--autologin",
      "--credentials-via",
      "cmdline",
      DEMO_CLOUD_IMAGE,
    ]);
    expect(r.exitCode, String(r.all)).toBe(0);
    await checkSeeded("imds");
    // --allow-host-loopback: qemu's user network, where 10.0.2.2 is the host's 127.0.0.1.
    const probe = await probeHostLoopback("imds");
    expect(probe.guest).toBe("reached 10.0.2.2");
    expect(probe.seen).toEqual(["connection", "from-guest-via-10.0.2.2"]);
    const vm = await bootcJson<Vm>(home, ["inspect", "imds"]);
    expect(vm.credentialsVia).toBe("cmdline");
    expect(vm.qemuArgs?.join(" ")).toMatch(/type=1,serial=ds=nocloud;s=http:\/\/10\.0\.2\.2:\d+\/[0-9a-f]{32}\//);
    // The server answers only under its token.
    const port = /10\.0\.2\.2:(\d+)\//.exec(vm.qemuArgs!.join(" "))![1];
    expect((await fetch(`http://127.0.0.1:${port}/user-data`)).status).toBe(404);
    const con = consoleSession("imds");
    con.type("\r");
    await con.expect(SHELL_PROMPT, 120_000);
    con.type("echo AUTO-$((6*7))\r");
    await con.expect(/AUTO-42/);
    expect((await con.detach()).exitCode).toBe(0);
    await bootc(home, ["rm", "--force", "imds"]);
    // The IMDS server ends with the VM.
    expect(
      await fetch(`http://127.0.0.1:${port}/`).then(
        () => "answered",
        () => "refused",
      ),
    ).toBe("refused");
  }, 900_000);
});
