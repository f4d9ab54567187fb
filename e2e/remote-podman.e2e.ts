/**
 * Images that live in another podman (issue #25, its first slice): the user bootc-remote's
 * rootless podman service behind an OpenSSH server on 127.0.0.1, reached as podman reaches
 * a podman machine (CONTAINER_HOST=ssh://…, CONTAINER_SSHKEY). The demo image is in that
 * user's storage only, under two names of this file's own. `bootc images` lists both;
 * `bootc run` boots it in ephemeral mode from a root exported into the local cache (one
 * guest boot), without the local podman ever having it; `bootc ssh` works; rm leaves no
 * process. Bad connections fail in one sentence. The service and sshd are stopped by pid.
 * Iterating (the rest of #25): `bootc run --watch` builds and rebuilds in that podman and
 * soft-reboots into each build's exported root (one more guest); `rm --rmi` removes the
 * image there, never here; `to-disk` writes a file from the disk built there; `test` and
 * `to-disk` take the connection; the API builds, removes and exports in a saved podman.
 */
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, CLI, DEMO_IMAGE, freePort, makeHome, processesUsing, ROOT, tempDir, waitUntil } from "./lib/harness.js";
import { startRegistry, type Registry } from "./lib/registry.js";
import { account, asUser } from "./lib/rootless-user.js";
import { REMOTE_IMAGE, startRemotePodman, type RemotePodman } from "./lib/remote-podman.js";
import { startChild, startLoopbackSshd, stopChild } from "./lib/loopback-sshd.js";
import { api as rawApi, client, serve } from "./lib/api.js";
import { enginePaths } from "../dist/engine/core/paths.js";
import { exportedRoot } from "../dist/engine/images/remote-root.js";

const home = makeHome();
const NAME = "rp";
let remote: RemotePodman;
/** bootc with CONTAINER_HOST and CONTAINER_SSHKEY naming the remote podman, as podman's own users set them. */
const remoteBootc = (args: string[], env: Record<string, string> = {}) =>
  bootc(home, args, { env: { CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key, ...env } });
const localHas = async (ref: string) => (await execa("podman", ["image", "exists", ref], { reject: false })).exitCode === 0;

/** A loopback registry's port, known before the remote podman starts: that podman is told it speaks plain HTTP. */
let registryPort = 0;

beforeAll(async () => {
  registryPort = await freePort();
  remote = await startRemotePodman({ insecureRegistries: [`127.0.0.1:${registryPort}`] });
}, 600_000);

afterAll(async () => {
  await bootc(home, ["rm", "--all", "--force"]);
  await remote?.stop();
  for (const pid of remote?.pids ?? []) expect(existsSync(`/proc/${pid}`), `pid ${pid} (service or sshd) ended`).toBe(false);
  expect(processesUsing(home)).toEqual([]);
}, 120_000);

describe("an image in another podman, reached over SSH", () => {
  it("lists both names of a two-tag image, once each", async () => {
    const r = await remoteBootc(["images"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    const lines = String(r.stdout).split("\n");
    expect(lines[0]).toBe(`Images in the podman at ${remote.url}:`);
    expect(lines.filter((l) => l.includes(`${REMOTE_IMAGE}:one`))).toHaveLength(1);
    expect(lines.filter((l) => l.includes(`${REMOTE_IMAGE}:two`))).toHaveLength(1);
    const json = JSON.parse(String((await remoteBootc(["images", "--json"])).stdout)) as Array<{ names: string[] }>;
    expect(json.filter((i) => i.names.includes(`${REMOTE_IMAGE}:one`)).map((i) => i.names.sort())).toEqual([[`${REMOTE_IMAGE}:one`, `${REMOTE_IMAGE}:two`]]);
  });

  it("exports an image's root keeping owners, modes, hard links and file capabilities, once per image", async () => {
    // A tiny image made here and imported into the remote podman (podman import through the connection).
    const src = tempDir("bce-remote-caps-");
    const root = path.join(src, "root");
    mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    mkdirSync(path.join(root, "etc"));
    await execa("cp", ["/bin/true", path.join(root, "usr/bin/capped")]);
    await execa("setcap", ["cap_net_raw+ep", path.join(root, "usr/bin/capped")]);
    await execa("ln", [path.join(root, "usr/bin/capped"), path.join(root, "usr/bin/linked")]);
    await execa("sh", ["-c", `echo s > ${root}/etc/secret && chown 0:42 ${root}/etc/secret && chmod 640 ${root}/etc/secret`]);
    await execa("tar", ["--xattrs", "--xattrs-include=*", "-C", root, "-cf", path.join(src, "caps.tar"), "."]);
    const env = { ...process.env, CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key };
    const id = (await execa("podman", ["import", "--quiet", path.join(src, "caps.tar"), `${REMOTE_IMAGE}-caps:test`], { env })).stdout
      .trim()
      .replace(/^sha256:/, "");
    expect(await localHas(`${REMOTE_IMAGE}-caps:test`)).toBe(false);
    const paths = enginePaths({ ...process.env, BOOTC_HOME: home });
    // A partial export of a process that is gone is swept; it never counts as an entry.
    const stale = path.join(paths.cache, "rootfs", `${id}.partial-999999999`);
    mkdirSync(stale, { recursive: true });
    const c = { url: remote.url, identity: remote.key };
    const first = await exportedRoot(c, { ref: `${REMOTE_IMAGE}-caps:test`, id, sizeBytes: 1 }, paths);
    expect(first.reused).toBe(false);
    expect(existsSync(stale)).toBe(false);
    expect((await execa("getcap", [path.join(first.dir, "usr/bin/capped")])).stdout).toMatch(/cap_net_raw[=+]ep/);
    const [a, b] = ["capped", "linked"].map((n) => statSync(path.join(first.dir, "usr/bin", n)));
    expect([a!.ino, a!.nlink]).toEqual([b!.ino, 2]);
    const secret = statSync(path.join(first.dir, "etc/secret"));
    expect([secret.uid, secret.gid, secret.mode & 0o7777]).toEqual([0, 42, 0o640]);
    expect((await exportedRoot(c, { ref: `${REMOTE_IMAGE}-caps:test`, id, sizeBytes: 1 }, paths)).reused).toBe(true);
    // The container the export made there is gone.
    expect((await execa("podman", ["ps", "--all", "--quiet", "--filter", "label=io.bootc-console.export=1"], { env })).stdout.trim()).toBe("");
    await execa("podman", ["rmi", `${REMOTE_IMAGE}-caps:test`], { env, reject: false });
  }, 300_000);

  it("an interrupted export (Ctrl+C) leaves nothing: no entry, no partial tree, no container there, no VM", async () => {
    const other = makeHome();
    const rootfs = path.join(enginePaths({ ...process.env, BOOTC_HOME: other }).cache, "rootfs");
    const list = () => (existsSync(rootfs) ? readdirSync(rootfs) : []);
    const run = bootc(other, ["run", "--name", "rp-int", `${REMOTE_IMAGE}:one`], { env: { CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key } });
    // Files are arriving in the partial tree: the stream is under way.
    await waitUntil(
      "the export to be under way",
      () => (list().some((n) => n.includes(".partial-") && readdirSync(path.join(rootfs, n)).length > 2) ? true : undefined),
      120_000,
      100,
    );
    run.kill("SIGINT");
    const r = await run;
    expect(r.exitCode, String(r.all)).toBe(1);
    expect(String(r.stderr)).toContain("the export of the image's root filesystem was interrupted; nothing of it was kept");
    expect(list()).toEqual([]);
    const env = { ...process.env, CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key };
    expect((await execa("podman", ["ps", "--all", "--quiet", "--filter", "label=io.bootc-console.export=1"], { env })).stdout.trim()).toBe("");
    expect((await bootc(other, ["inspect", "rp-int"])).exitCode).toBe(1);
    expect(processesUsing(other)).toEqual([]);
  }, 300_000);

  it("boots it in ephemeral mode from its exported root, never copying it into the local podman", async () => {
    const t0 = Date.now();
    const r = await remoteBootc(["run", "--name", NAME, "--memory", "1G", `${REMOTE_IMAGE}:two`]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stderr)).toContain(`exporting the root filesystem from the podman at ${remote.url}`);
    expect(String(r.stderr)).toContain(`Booting ${NAME} from ${REMOTE_IMAGE}:two of the podman at ${remote.url}`);
    const vm = JSON.parse(String((await bootc(home, ["inspect", NAME])).stdout));
    expect(vm.state).toBe("ssh-ready");
    expect(vm.podman).toEqual({ url: remote.url, identity: remote.key });
    const events = (vm.timeline as Array<{ event: string; at: string }>).map((t) => t.event);
    expect(events).toContain("image-root-cached");
    expect(events).not.toContain("image-mounted");
    const created = Date.parse(vm.timeline[0].at);
    console.log(
      `remote boot: export ${((created - t0) / 1000).toFixed(1)} s (run start → VM created), created → ssh-ready ${((Date.parse(vm.timeline.at(-1).at) - created) / 1000).toFixed(1)} s`,
    );
    // The image never came into the local podman: not under its names, and no local mount for this home.
    for (const tag of ["one", "two"]) expect(await localHas(`${REMOTE_IMAGE}:${tag}`)).toBe(false);
    const ledger = process.env.BCE_MOUNT_LEDGER;
    const lines = ledger && existsSync(ledger) ? readFileSync(ledger, "utf8").split("\n") : [];
    expect(lines.filter((l) => l.endsWith(` ${home}`))).toEqual([]);
  }, 900_000);

  it("bootc ssh reaches it, with the image's owners and modes", async () => {
    const r = await bootc(home, ["ssh", NAME, "--", "stat -c '%U:%G %a' /etc/shadow; findmnt -no FSTYPE /"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stdout).trim()).toBe("root:shadow 640\noverlay");
  }, 120_000);

  it("bootc disks shows the exported roots with their podman and users, counted; prune keeps the one in use", async () => {
    const r = await bootc(home, ["disks"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    const lines = String(r.stdout).split("\n");
    const used = lines.find((l) => l.includes(`${REMOTE_IMAGE}:two`));
    expect(used, String(r.stdout)).toContain(`(the podman at ${remote.url})`);
    expect(used).toContain("exported root");
    // Columns: KEY, IMAGE, BUILDER, SIZE, ON HOST, AGE, USED BY, then the overlays' (a base disk's).
    expect(used?.split(/\s{2,}/)[6]).toBe(NAME);
    // The tiny image exported above was removed there since: its root is outdated.
    expect(lines.find((l) => l.includes(`${REMOTE_IMAGE}-caps:test`))).toContain("(outdated)");
    expect(lines.at(-1)).toMatch(/^2 entries, \d+\.\d\d GiB on the host$/);
    const json = JSON.parse(String((await bootc(home, ["disks", "--json"])).stdout)) as Array<{
      kind: string;
      image: string;
      usageBytes: number;
      usedBy: string[];
    }>;
    const root = json.find((d) => d.image === `${REMOTE_IMAGE}:two`)!;
    expect([root.kind, root.usedBy]).toEqual(["root", [NAME]]);
    expect(root.usageBytes).toBeGreaterThan(100 * 1024 ** 2);
    const pruned = JSON.parse(String((await bootc(home, ["disks", "prune", "--all", "--json"])).stdout)) as { removed: Array<{ image: string }> };
    expect(pruned.removed.map((d) => d.image)).toEqual([`${REMOTE_IMAGE}-caps:test`]);
  }, 120_000);

  it("rm --rmi removes the VM and its exported root, and asks only that podman to remove the image; no process is left", async () => {
    const vm = JSON.parse(String((await bootc(home, ["inspect", NAME])).stdout));
    const localId = async () => (await execa("podman", ["image", "inspect", "--format", "{{.Id}}", vm.imageId], { reject: false })).stdout.trim();
    // root's demo image has the same id: it is not this VM's, and stays.
    const before = await localId();
    const r = await bootc(home, ["rm", "--force", "--rmi", NAME]);
    expect(r.exitCode, String(r.all)).toBe(0);
    // Two names there (:one and :two) on that id: podman there refuses an unforced rmi by id, and bootc says so.
    expect(String(r.stdout)).toContain(`kept the image ${vm.imageId.slice(0, 12)} in the podman at ${remote.url}:`);
    expect(await remote.asUser(["podman", "image", "exists", `${REMOTE_IMAGE}:two`]).then((x) => x.exitCode)).toBe(0);
    expect(await localId()).toBe(before);
    expect(processesUsing(home)).toEqual([]);
    const root = path.join(enginePaths({ ...process.env, BOOTC_HOME: home }).cache, "rootfs", vm.imageId);
    expect(existsSync(root)).toBe(false);
  }, 120_000);
});

describe("a regular user here (rootless podman): the export is unpacked in its own podman's namespace", () => {
  const userHome = tempDir("bce-rp-rl-");
  chownSync(userHome, account.uid, account.gid);
  let userKey = "";
  let knownHosts = "";
  /** As bootc-rootless, with CONTAINER_HOST naming the remote podman and a copy of the key the user can read. */
  const asRl = (cmd: string[]) => asUser(["env", `BOOTC_HOME=${userHome}`, `CONTAINER_HOST=${remote.url}`, `CONTAINER_SSHKEY=${userKey}`, ...cmd]);
  const bootcRl = (args: string[]) => asRl([process.execPath, CLI, ...args]);
  const inUserNs = async (script: string) => String((await asUser(["podman", "unshare", "sh", "-c", script])).stdout).trim();

  beforeAll(() => {
    userKey = path.join(userHome, "client_key");
    copyFileSync(remote.key, userKey);
    chownSync(userKey, account.uid, account.gid);
    // The user's ssh (podman's) must know the loopback sshd's host key, as root's does.
    knownHosts = path.join(account.home, ".ssh", "known_hosts");
    const hostKey = readFileSync(path.join(path.dirname(remote.key), "host_key.pub"), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    mkdirSync(path.dirname(knownHosts), { recursive: true, mode: 0o700 });
    chownSync(path.dirname(knownHosts), account.uid, account.gid);
    writeFileSync(knownHosts, `[127.0.0.1]:${remote.sshPort} ${hostKey}\n`, { flag: "a" });
    chownSync(knownHosts, account.uid, account.gid);
  });

  afterAll(async () => {
    await bootcRl(["rm", "--all", "--force"]);
    await bootcRl(["disks", "prune", "--all"]);
    await execa("ssh-keygen", ["-R", `[127.0.0.1]:${remote.sshPort}`, "-f", knownHosts], { reject: false });
    expect(processesUsing(userHome)).toEqual([]);
  }, 120_000);

  it("keeps owners, modes, a hard link and a file capability as the user's podman keeps them; prune removes it", async () => {
    const src = tempDir("bce-remote-rlcaps-");
    const root = path.join(src, "root");
    mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    mkdirSync(path.join(root, "etc"));
    mkdirSync(path.join(root, "var/private"), { recursive: true });
    await execa("cp", ["/bin/true", path.join(root, "usr/bin/capped")]);
    await execa("setcap", ["cap_net_raw+ep", path.join(root, "usr/bin/capped")]);
    await execa("ln", [path.join(root, "usr/bin/capped"), path.join(root, "usr/bin/linked")]);
    await execa("sh", ["-c", `echo s > ${root}/etc/secret && chown 0:42 ${root}/etc/secret && chmod 640 ${root}/etc/secret`]);
    // A daemon's private directory: the user cannot remove it from outside its namespace.
    await execa("sh", ["-c", `echo d > ${root}/var/private/state && chown -R 101:101 ${root}/var/private && chmod 700 ${root}/var/private`]);
    await execa("tar", ["--xattrs", "--xattrs-include=*", "-C", root, "-cf", path.join(src, "caps.tar"), "."]);
    const env = { ...process.env, CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key };
    const ref = `${REMOTE_IMAGE}-rlcaps:test`;
    const id = (await execa("podman", ["import", "--quiet", path.join(src, "caps.tar"), ref], { env })).stdout.trim().replace(/^sha256:/, "");
    const script = `import { exportedRoot } from ${JSON.stringify(path.join(ROOT, "dist/engine/images/remote-root.js"))};
import { enginePaths } from ${JSON.stringify(path.join(ROOT, "dist/engine/core/paths.js"))};
const r = await exportedRoot({ url: process.env.CONTAINER_HOST, identity: process.env.CONTAINER_SSHKEY }, { ref: ${JSON.stringify(ref)}, id: ${JSON.stringify(id)}, sizeBytes: 1 }, enginePaths(process.env));
console.log(JSON.stringify(r));`;
    const r = await asRl([process.execPath, "--input-type=module", "-e", script]);
    expect(r.exitCode, String(r.all)).toBe(0);
    const { dir, reused } = JSON.parse(String(r.stdout).trim().split("\n").pop()!) as { dir: string; reused: boolean };
    expect(reused).toBe(false);
    // In the user's namespace, as its podman shows an image's files: the image's owners, modes and capability.
    expect(
      await inUserNs(
        `cd ${dir} && stat -c '%u:%g %a' etc/secret var/private && getcap usr/bin/capped && stat -c %i usr/bin/capped usr/bin/linked | uniq | wc -l`,
      ),
    ).toMatch(/^0:42 640\n101:101 700\nusr\/bin\/capped cap_net_raw[=+]ep\n1$/);
    // On the host, root's files are the user's, the others its subordinate ids: never the host's root.
    const secret = statSync(path.join(dir, "etc/secret"));
    expect(secret.uid).toBe(account.uid);
    expect(secret.gid).not.toBe(42);
    expect(statSync(path.join(dir, "var/private")).uid).not.toBe(0);
    await execa("podman", ["rmi", ref], { env, reject: false });
    // Unused, its image gone there: prune removes it, the daemon's private directory too.
    const prune = await bootcRl(["disks", "prune", "--all"]);
    expect(prune.exitCode, String(prune.all)).toBe(0);
    expect(existsSync(dir)).toBe(false);
  }, 300_000);

  it("boots the remote image in ephemeral mode as the user: /etc/shadow is root:shadow 640 in the guest", async () => {
    const t0 = Date.now();
    const r = await bootcRl(["run", "--name", "rprl", "--memory", "1G", `${REMOTE_IMAGE}:one`]);
    expect(r.exitCode, String(r.all)).toBe(0);
    console.log(`rootless remote boot: run to SSH in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const s = await bootcRl(["ssh", "rprl", "--", "stat -c '%U:%G %a' /etc/shadow"]);
    expect(String(s.stdout).trim()).toBe("root:shadow 640");
    expect((await bootcRl(["rm", "--force", "rprl"])).exitCode).toBe(0);
    expect(processesUsing(userHome)).toEqual([]);
  }, 900_000);
});

describe("the install builder in a rootful podman there (root's podman, over SSH as root)", () => {
  let sshd: Awaited<ReturnType<typeof startLoopbackSshd>> | undefined;
  let service: ReturnType<typeof startChild> | undefined;
  let url = "";
  const socketDir = `/run/bce-rootful-e2e-${process.pid}`;

  beforeAll(async () => {
    mkdirSync(socketDir, { recursive: true, mode: 0o700 });
    const socket = path.join(socketDir, "podman.sock");
    service = startChild("podman", ["system", "service", "--time=0", `unix://${socket}`]);
    await waitUntil("root's podman service socket", () => (existsSync(socket) ? true : undefined), 30_000, 200);
    sshd = await startLoopbackSshd({
      user: "root",
      prefix: "bce-rootful-sshd-",
      config: ["AllowUsers root", "PermitRootLogin prohibit-password", "AllowStreamLocalForwarding yes"],
    });
    url = `ssh://root@127.0.0.1:${sshd.port}${socket}`;
  }, 120_000);

  afterAll(async () => {
    await bootc(home, ["rm", "--force", "rpi"]);
    await sshd?.stop();
    await stopChild(service);
    rmSync(socketDir, { recursive: true, force: true });
  }, 120_000);

  it("runs bootc install in a privileged container there, and leaves no container or volume when it fails", async () => {
    const env = { CONTAINER_HOST: url, CONTAINER_SSHKEY: sshd!.key };
    // The demo image has no bootc (no image here has; CI cannot pull one): the build reaches
    // the privileged container there and fails in it, in one sentence.
    const r = await bootc(home, ["run", "--name", "rpi", "--mode", "disk", "--builder", "install", "--disk-size", "4G", DEMO_IMAGE], { env });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain(`bootc install to-disk in the podman at ${url} failed: `);
    const left = await execa("podman", ["ps", "--all", "--quiet", "--filter", "name=bootc-console-install"]);
    expect(left.stdout.trim()).toBe("");
    expect((await execa("podman", ["volume", "ls", "--quiet", "--filter", "label=io.bootc-console.build=1"])).stdout.trim()).toBe("");
  }, 600_000);
});

describe("disk mode: the base disk built in the remote podman", () => {
  it("boots the remote image from a disk built there and streamed into the local cache, to SSH; the local podman never has it", async () => {
    const t0 = Date.now();
    const r = await remoteBootc(["run", "--name", "rpd", "--mode", "disk", "--memory", "1G", `${REMOTE_IMAGE}:one`]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stderr)).toContain(`Booting rpd from ${REMOTE_IMAGE}:one of the podman at ${remote.url}`);
    const vm = JSON.parse(String((await bootc(home, ["inspect", "rpd"])).stdout));
    expect([vm.state, vm.mode, vm.disk.builder]).toEqual(["ssh-ready", "disk", "direct"]);
    expect(vm.podman).toEqual({ url: remote.url, identity: remote.key });
    const events = (vm.timeline as Array<{ event: string; at: string }>).map((t) => t.event);
    expect(events).toContain("disk-built");
    console.log(`remote disk boot: run → ssh-ready ${((Date.parse(vm.timeline.at(-1).at) - t0) / 1000).toFixed(1)} s (build there, stream, TCG boot)`);
    const ssh = await bootc(home, ["ssh", "rpd", "--", "findmnt -no FSTYPE /; stat -c '%U:%G %a' /etc/shadow"]);
    expect(ssh.exitCode, String(ssh.all)).toBe(0);
    expect(String(ssh.stdout).trim()).toBe("ext4\nroot:shadow 640");
    for (const tag of ["one", "two"]) expect(await localHas(`${REMOTE_IMAGE}:${tag}`)).toBe(false);
    // The base disk is in the local cache under the image's id, built in that podman; its builder container there is gone.
    const disks = JSON.parse(String((await bootc(home, ["disks", "--json"])).stdout)) as Array<{
      kind: string;
      imageId: string;
      usedBy: string[];
      imageCurrent: boolean;
      podman?: unknown;
    }>;
    const disk = disks.find((d) => d.kind === "disk")!;
    expect([disk.imageId, disk.usedBy, disk.imageCurrent]).toEqual([vm.imageId, ["rpd"], true]);
    expect(disk.podman).toEqual({ url: remote.url, identity: remote.key });
    const env = { ...process.env, CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key };
    expect((await execa("podman", ["ps", "--all", "--quiet", "--filter", "label=io.bootc-console.build=1"], { env })).stdout.trim()).toBe("");
    const rm = await bootc(home, ["rm", "--force", "rpd"]);
    expect(rm.exitCode, String(rm.all)).toBe(0);
    expect(processesUsing(home)).toEqual([]);
  }, 1_200_000);

  it("to-disk writes a bootable disk file here from the base disk built there (the cached one), the local podman never having the image", async () => {
    const file = path.join(tempDir("bce-remote-to-disk-"), "remote.qcow2");
    const t0 = Date.now();
    const r = await remoteBootc(["to-disk", `${REMOTE_IMAGE}:one`, file]);
    expect(r.exitCode, String(r.all)).toBe(0);
    // The disk-mode boot above built it there and left it in the cache (built now when this runs alone).
    expect(String(r.stdout)).toMatch(new RegExp(`^wrote ${file} \\(qcow2, \\d+ MiB on disk; direct builder, base disk (from the cache|built now)\\)`));
    console.log(`remote to-disk: ${((Date.now() - t0) / 1000).toFixed(1)} s (${String(r.stdout).trim()})`);
    const info = JSON.parse((await execa("qemu-img", ["info", "--output=json", file])).stdout) as { format: string };
    expect(info.format).toBe("qcow2");
    // A GPT with the EFI system partition first and the root after it.
    const raw = `${file}.raw`;
    await execa("qemu-img", ["convert", "-O", "raw", file, raw]);
    const parts = JSON.parse((await execa("sfdisk", ["--json", raw])).stdout) as { partitiontable: { label: string; partitions: Array<{ name?: string }> } };
    expect([parts.partitiontable.label, parts.partitiontable.partitions.map((p) => p.name)]).toEqual(["gpt", ["esp", "root"]]);
    for (const tag of ["one", "two"]) expect(await localHas(`${REMOTE_IMAGE}:${tag}`)).toBe(false);
  }, 900_000);
});

describe("--watch: rebuilt in the remote podman", () => {
  const WATCH_TAG = `${REMOTE_IMAGE}-watch:latest`;
  let watcher: ReturnType<typeof bootc> | undefined;
  let out = "";
  const readyCount = () => (out.match(/rpw is ready/g) ?? []).length;
  const remoteHas = async (ref: string) => (await remote.asUser(["podman", "image", "exists", ref])).exitCode === 0;
  const rootOf = (id: string) => path.join(enginePaths({ ...process.env, BOOTC_HOME: home }).cache, "rootfs", id);

  afterAll(async () => {
    watcher?.kill("SIGKILL");
    await bootc(home, ["rm", "--force", "rpw"]);
    await remote?.asUser(["podman", "rmi", "-f", WATCH_TAG]);
  });

  it("builds DIR there and boots it; a change is rebuilt there and soft-rebooted into; the local podman never has it", async () => {
    const dir = tempDir("bce-remote-watch-");
    writeFileSync(path.join(dir, "motd"), "version 1\n");
    writeFileSync(path.join(dir, "Containerfile"), `FROM ${REMOTE_IMAGE}:one\nCOPY motd /etc/motd\n`);
    const t0 = Date.now();
    watcher = bootc(home, ["run", "--watch", dir, "-t", WATCH_TAG, "--name", "rpw", "--memory", "1G"], {
      buffer: false,
      env: { CONTAINER_HOST: remote.url, CONTAINER_SSHKEY: remote.key },
    });
    watcher.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    watcher.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await waitUntil("the first boot", () => readyCount() >= 1 || undefined, 900_000, 1000);
    const t1 = Date.now();
    const first = JSON.parse(String((await bootc(home, ["inspect", "rpw"])).stdout)) as { imageId: string; podman: unknown };
    expect(first.podman).toEqual({ url: remote.url, identity: remote.key });
    expect(String((await bootc(home, ["ssh", "rpw", "--", "cat", "/etc/motd"])).stdout).trim()).toBe("version 1");
    expect(await remoteHas(WATCH_TAG)).toBe(true);
    expect(existsSync(rootOf(first.imageId))).toBe(true);

    writeFileSync(path.join(dir, "motd"), "version 2\n");
    await waitUntil("the soft reboot into the new image", () => readyCount() >= 2 || undefined, 900_000, 1000);
    const t2 = Date.now();
    expect(out, out).toMatch(/new image [0-9a-f]{12}: soft-rebooted the VM into it \(same kernel, new root\)/);
    expect(out).toContain(`removed the image it replaced, ${first.imageId.slice(0, 12)}`);
    const second = JSON.parse(String((await bootc(home, ["inspect", "rpw"])).stdout)) as { imageId: string; timeline: Array<{ event: string }> };
    expect(second.imageId).not.toBe(first.imageId);
    expect(second.timeline.map((t) => t.event)).toContain("soft-reboot");
    expect(String((await bootc(home, ["ssh", "rpw", "--", "cat", "/etc/motd"])).stdout).trim()).toBe("version 2");
    // The replaced build is gone from that podman, and its exported root from the cache; the new root is there.
    expect(await remoteHas(first.imageId)).toBe(false);
    expect(existsSync(rootOf(first.imageId))).toBe(false);
    expect(existsSync(rootOf(second.imageId))).toBe(true);
    expect(await localHas(WATCH_TAG)).toBe(false);
    console.log(
      `remote --watch: build + export + boot to SSH ${((t1 - t0) / 1000).toFixed(1)} s; change → rebuilt there, exported, soft-rebooted, SSH ${((t2 - t1) / 1000).toFixed(1)} s`,
    );

    // Ctrl+C ends the loop and stops the VM (kept, stopped: no --rm).
    watcher.kill("SIGINT");
    await watcher;
    expect(out).toContain("stopped rpw");
    expect(JSON.parse(String((await bootc(home, ["inspect", "rpw"])).stdout)).state).toBe("stopped");

    // rm --rmi (no CONTAINER_HOST now: the VM's record says where its image is) removes it there, by id, and its root here.
    const rmi = await bootc(home, ["rm", "--rmi", "rpw"]);
    expect(rmi.exitCode, String(rmi.all)).toBe(0);
    expect(String(rmi.stdout)).toContain(`removed the image ${second.imageId.slice(0, 12)} from the podman at ${remote.url}`);
    expect(await remoteHas(WATCH_TAG)).toBe(false);
    expect(existsSync(rootOf(second.imageId))).toBe(false);
    expect(await remoteHas(`${REMOTE_IMAGE}:one`)).toBe(true);
  }, 1_800_000);
});

describe("podman's named connections", () => {
  it("--connection NAME and -r (the default connection) reach the same podman, on images and run", async () => {
    // A containers.conf of this test's own (CONTAINERS_CONF): root's podman configuration is not touched.
    const conf = path.join(tempDir("bce-remote-conf-"), "containers.conf");
    writeFileSync(conf, "");
    const env = { CONTAINERS_CONF: conf, CONTAINER_HOST: "", CONTAINER_SSHKEY: "" };
    const add = await execa("podman", ["system", "connection", "add", "--identity", remote.key, "bce-remote", remote.url], {
      env: { ...process.env, CONTAINERS_CONF: conf },
      reject: false,
      all: true,
    });
    expect(add.exitCode, String(add.all)).toBe(0);
    for (const how of [["--connection", "bce-remote"], ["-r"]]) {
      const r = await bootc(home, ["images", ...how], { env });
      expect(r.exitCode, String(r.all)).toBe(0);
      expect(String(r.stdout), how.join(" ")).toContain(`${REMOTE_IMAGE}:one`);
      expect(String(r.stdout), how.join(" ")).toContain(`${REMOTE_IMAGE}:two`);
    }
    // bootc build --connection: the directory goes there, the image stays there.
    const src = tempDir("bce-remote-build-");
    writeFileSync(path.join(src, "Containerfile"), `FROM ${REMOTE_IMAGE}:one\nLABEL org.bootc-console.test=remote-build\n`);
    const built = await bootc(home, ["build", "--connection", "bce-remote", "-t", `${REMOTE_IMAGE}-built:1`, src], { env });
    expect(built.exitCode, String(built.all)).toBe(0);
    expect(String(built.stdout)).toMatch(new RegExp(`built ${REMOTE_IMAGE}-built:1 \\([0-9a-f]{12}\\) in podman connection "bce-remote"`));
    expect(String((await bootc(home, ["images", "--connection", "bce-remote"], { env })).stdout)).toContain(`${REMOTE_IMAGE}-built:1`);
    expect(await localHas(`${REMOTE_IMAGE}-built:1`)).toBe(false);
    await remote.asUser(["podman", "rmi", `${REMOTE_IMAGE}-built:1`]);
    const missing = await bootc(home, ["run", "--connection", "bce-remote", "localhost/bootc-remote-missing:1"], { env });
    expect(missing.exitCode).toBe(1);
    expect(String(missing.stderr)).toContain('error: image "localhost/bootc-remote-missing:1" is not in podman connection "bce-remote"');
    // bootc test and bootc to-disk take the connection as run does (their real runs: the boots above, and to-disk's test).
    const test = await bootc(home, ["test", "--connection", "bce-remote", "localhost/bootc-remote-missing:1"], { env });
    expect(test.exitCode).toBe(1);
    expect(String(test.stderr)).toContain('error: image "localhost/bootc-remote-missing:1" is not in podman connection "bce-remote"');
    const toDisk = await bootc(home, ["to-disk", "-r", "localhost/bootc-remote-missing:1", path.join(src, "x.qcow2")], { env });
    expect(toDisk.exitCode).toBe(1);
    expect(String(toDisk.stderr)).toContain(`error: image "localhost/bootc-remote-missing:1" is not in podman's default connection`);
    expect(existsSync(path.join(src, "x.qcow2"))).toBe(false);
    const disk = await bootc(home, ["run", "-r", "--mode", "disk", "--builder", "install", `${REMOTE_IMAGE}:one`], { env });
    expect(String(disk.stderr)).toContain(
      "the install builder runs bootc install in a privileged container, which the rootless podman's default connection cannot start",
    );
    // to-disk checks it as run does, before anything is built or written.
    const installed = await bootc(home, ["to-disk", "-r", "--builder", "install", `${REMOTE_IMAGE}:one`, path.join(src, "i.qcow2")], { env });
    expect(installed.exitCode).toBe(1);
    expect(String(installed.stderr)).toContain("which the rootless podman's default connection cannot start");
    expect(existsSync(path.join(src, "i.qcow2"))).toBe(false);
  }, 120_000);
});

describe("the web console's API (the Images page)", () => {
  it("saves a podman by name, lists its images through it, and says what is wrong in one sentence", async () => {
    const s = await serve(home, ["--api-only"]);
    try {
      const api = client(s);
      const podman = { url: remote.url, identity: remote.key };
      await api.images.savePodman.mutate({ name: "rp", podman });
      const listed = await api.images.podmans.query();
      expect(listed.server).toBe("the local podman");
      expect(listed.saved).toEqual([{ name: "rp", podman, label: `the podman at ${remote.url}` }]);
      const images = await api.images.list.query({ podman });
      expect(images.find((i) => i.names.includes(`${REMOTE_IMAGE}:one`))?.names.sort()).toEqual([`${REMOTE_IMAGE}:one`, `${REMOTE_IMAGE}:two`]);
      // The server's own podman does not have it.
      expect((await api.images.list.query({})).some((i) => i.names.includes(`${REMOTE_IMAGE}:one`))).toBe(false);
      await expect(api.images.list.query({ podman: { ...podman, url: `ssh://bootc-remote@127.0.0.1:1${remote.socket}` } })).rejects.toThrow(
        "refused the connection (nothing listens there)",
      );
      await expect(api.images.list.query({ podman: { ...podman, url: remote.url.replace("podman.sock", "nothing.sock") } })).rejects.toThrow(
        "has no podman socket there",
      );
      await expect(api.images.inspect.query({ ref: "localhost/bootc-remote-missing:1", podman })).rejects.toThrow(
        `image "localhost/bootc-remote-missing:1" is not in the podman at ${remote.url}`,
      );
      // Build and remove act on that podman (the Images page's buttons for a saved podman): the image is there, never here.
      const src = tempDir("bce-remote-api-build-");
      writeFileSync(path.join(src, "Containerfile"), `FROM ${REMOTE_IMAGE}:one\nLABEL org.bootc-console.test=api-build\n`);
      const tag = `${REMOTE_IMAGE}-api:1`;
      const job = await api.images.build.mutate({ dir: src, tag, podman });
      const done = await waitUntil(
        "the build job",
        async () => (await api.jobs.list.query()).find((j) => j.id === job.id && j.state !== "running"),
        300_000,
        500,
      );
      expect(done.state, JSON.stringify(done)).toBe("succeeded");
      expect((await api.images.list.query({ podman })).some((i) => i.names.includes(tag))).toBe(true);
      expect(await localHas(tag)).toBe(false);
      await api.images.remove.mutate({ ref: tag, podman });
      expect((await api.images.list.query({ podman })).some((i) => i.names.includes(tag))).toBe(false);
      await expect(api.images.remove.mutate({ ref: tag, podman })).rejects.toThrow(`image "${tag}" is not in the podman at ${remote.url}`);
      // The boot dialog's export job (before vms.run, so that the export shows a bar): bytes as a percentage that only moves up, to 100.
      const exportJob = await api.images.exportRoot.mutate({ ref: `${REMOTE_IMAGE}:one`, podman });
      const percents: number[] = [];
      const lines: string[] = [];
      let outcome: { ok: boolean; error?: string } | undefined;
      await rawApi(s).subscribe<{ type: string; percent?: number; line?: string; ok?: boolean; error?: string }>("jobs.follow", { id: exportJob.id }, (e) => {
        if (e.type === "progress") percents.push(e.percent!);
        if (e.type === "log") lines.push(e.line!);
        if (e.type === "done") outcome = { ok: !!e.ok, error: e.error };
        return e.type === "done";
      });
      expect(outcome).toEqual({ ok: true, error: undefined });
      expect(percents.length, lines.join("\n")).toBeGreaterThanOrEqual(3);
      expect(percents.at(-1)).toBe(100);
      expect([...percents].sort((a, b) => a - b)).toEqual(percents);
      const id = (await api.images.inspect.query({ ref: `${REMOTE_IMAGE}:one`, podman })).id;
      expect(existsSync(path.join(enginePaths({ ...process.env, BOOTC_HOME: home }).cache, "rootfs", id))).toBe(true);
      await api.images.forgetPodman.mutate({ name: "rp" });
      expect((await api.images.podmans.query()).saved).toEqual([]);
    } finally {
      await s.stop();
    }
  }, 120_000);
});

describe("pulling into the remote podman, from a registry", () => {
  let registry: Registry | undefined;
  let REF = "";
  beforeAll(async () => {
    registry = await startRegistry(registryPort);
    // The demo, pushed from here without a local name of its own; the remote podman has its layers already (a quick pull).
    REF = `127.0.0.1:${registryPort}/bootc-remote-pull:1`;
    const pushed = await execa("podman", ["push", "-q", "--tls-verify=false", DEMO_IMAGE, REF], { reject: false, all: true });
    expect(pushed.exitCode, String(pushed.all)).toBe(0);
    expect(await localHas(REF)).toBe(false);
  }, 300_000);
  afterAll(async () => {
    await remote.asUser(["podman", "rmi", "--ignore", REF]);
    await registry?.stop();
  });

  it("the web console's pull job pulls into that podman, podman's lines as its log; the local podman never has it", async () => {
    const s = await serve(home, ["--api-only"]);
    try {
      const api = client(s);
      const podman = { url: remote.url, identity: remote.key };
      const job = await api.images.pull.mutate({ ref: REF, podman });
      const lines: string[] = [];
      let outcome: { ok: boolean; error?: string } | undefined;
      await rawApi(s).subscribe<{ type: string; line?: string; ok?: boolean; error?: string }>("jobs.follow", { id: job.id }, (e) => {
        if (e.type === "log") lines.push(e.line!);
        if (e.type === "done") outcome = { ok: !!e.ok, error: e.error };
        return e.type === "done";
      });
      expect(outcome, lines.join("\n")).toEqual({ ok: true, error: undefined });
      expect(lines.join("\n")).toMatch(/Copying (blob|config)|Writing manifest/);
      expect((await api.images.list.query({ podman })).some((i) => i.names.includes(REF))).toBe(true);
      expect(await localHas(REF)).toBe(false);
    } finally {
      await s.stop();
    }
  }, 300_000);

  it("bootc run of an image that registry lacks pulls through that podman and fails in one sentence, leaving no VM", async () => {
    const missing = `127.0.0.1:${registryPort}/bootc-remote-missing:1`;
    const r = await remoteBootc(["run", "--name", "pullfail", missing]);
    expect(r.exitCode, String(r.all)).toBe(1);
    expect(String(r.all)).toContain(`Pulling ${missing} into the podman at ${remote.url}`);
    expect(String(r.stderr)).toContain(`error: the registry has no image ${missing}\n`);
    expect(String(r.stderr)).not.toMatch(/\n\s+at /);
    expect(String((await bootc(home, ["list"])).stdout)).not.toContain("pullfail");
    expect(await localHas(missing)).toBe(false);
  }, 300_000);
});

describe("bad connections fail at once, in one sentence", () => {
  it("an unknown connection name", async () => {
    const r = await bootc(home, ["images", "--connection", "no-such-connection"]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain('error: there is no podman connection named "no-such-connection"');
    const run = await bootc(home, ["run", "--connection=--url=x", REMOTE_IMAGE]);
    expect(run.exitCode).toBe(1);
    expect(String(run.stderr)).toMatch(/invalid --connection|not a podman connection name/);
  });

  it("SSH refused, a missing socket, an image that podman does not have, disk mode", async () => {
    const refused = await remoteBootc(["run", `${REMOTE_IMAGE}:one`], { CONTAINER_HOST: `ssh://bootc-remote@127.0.0.1:1${remote.socket}` });
    expect(refused.exitCode).toBe(1);
    expect(String(refused.stderr)).toContain("refused the connection");
    const noSocket = await remoteBootc(["images"], { CONTAINER_HOST: remote.url.replace("podman.sock", "nothing.sock") });
    expect(noSocket.exitCode).toBe(1);
    expect(String(noSocket.stderr)).toContain("has no podman socket there");
    const missing = await remoteBootc(["run", "localhost/bootc-remote-missing:1"]);
    expect(missing.exitCode).toBe(1);
    expect(String(missing.stderr)).toContain(`error: image "localhost/bootc-remote-missing:1" is not in the podman at ${remote.url}`);
    const disk = await remoteBootc(["run", "--mode", "disk", "--disk-size", "300M", `${REMOTE_IMAGE}:one`]);
    expect(disk.exitCode).toBe(1);
    expect(String(disk.stderr)).toContain(`a 0.29 GiB disk cannot hold ${REMOTE_IMAGE}:one`);
    expect(processesUsing(home)).toEqual([]);
  }, 120_000);
});
