/**
 * A libvirt connection as bootc uses it: the URI (checked here, since it becomes virsh's
 * argument and an SSH configuration), whether the host is this one, and how to reach the
 * host's loopback over SSH for a remote one (guest SSH, serial console, logs).
 *
 * Only the qemu driver, locally (qemu:///system, qemu:///session) or over SSH
 * (qemu+ssh://[user@]host[:port]/system) with libvirt's own SSH parameters keyfile,
 * known_hosts and no_verify, which bootc's SSH hop honours the same way.
 */
import { BootcError } from "../../core/errors.js";

export interface Connection {
  uri: string;
  /** The libvirt host is this machine: sockets, logs and ports are reached directly. */
  local: boolean;
  /** Which libvirt daemon instance: the system one (root) or the user's session. */
  instance: "system" | "session";
  /** How to reach a remote host's shell (the same way libvirt does for qemu+ssh). */
  ssh?: { host: string; port?: number; user?: string; keyfile?: string; knownHosts?: string; noVerify: boolean };
  /** A short name for lists and the UI: "libvirt" (this host's system instance), "libvirt-session", or user@host[:port]. */
  label: string;
}

const SAFE_HOST = /^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$/;
const SAFE_USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
// Paths go into an OpenSSH configuration file: no spaces, quotes or other specials.
const SAFE_PATH = /^\/[A-Za-z0-9_./@+-]{1,1024}$/;
const PARAMS = new Set(["keyfile", "known_hosts", "no_verify"]);

function bad(uri: string, why: string, hint = "use qemu:///system, or qemu+ssh://[USER@]HOST[:PORT]/system for a remote host"): BootcError {
  return new BootcError("INVALID_ARGUMENT", `${JSON.stringify(uri.slice(0, 200))} is not a libvirt connection bootc can use: ${why}`, hint);
}

export function parseConnection(uri: string): Connection {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw bad(uri, "it is not a URI");
  }
  const scheme = u.protocol.replace(/:$/, "");
  if (scheme !== "qemu" && scheme !== "qemu+ssh") throw bad(uri, `the ${scheme} driver or transport is not supported (only qemu, locally or over ssh)`);
  const instance = u.pathname === "/system" ? "system" : u.pathname === "/session" ? "session" : undefined;
  if (!instance) throw bad(uri, `the path must be /system or /session (got ${JSON.stringify(u.pathname)})`);
  // libvirt splits parameters at ";" as well as "&", and of a repeated one it keeps the last
  // (URLSearchParams.get, the first): either way bootc and libvirt would read different URIs.
  if (u.search.includes(";")) throw bad(uri, 'its parameters are separated by ";", which libvirt and bootc read differently', "separate parameters with &");
  const seen = new Set<string>();
  for (const key of u.searchParams.keys()) {
    if (!PARAMS.has(key)) throw bad(uri, `the parameter ${key} is not supported`, "bootc understands keyfile=, known_hosts= and no_verify=1");
    if (seen.has(key)) throw bad(uri, `the parameter ${key} is given more than once`, "give each parameter once");
    seen.add(key);
  }
  if (u.hash) throw bad(uri, "it has a #fragment");
  if (scheme === "qemu") {
    if (u.host || u.username || u.search)
      throw bad(uri, "a local connection has no host, user or parameters", "use qemu:///system (or qemu+ssh://… for another host)");
    return { uri, local: true, instance, label: instance === "system" ? "libvirt" : "libvirt-session" };
  }
  if (!u.hostname || !SAFE_HOST.test(u.hostname)) throw bad(uri, "it names no valid host");
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  if (user !== undefined && !SAFE_USER.test(user)) throw bad(uri, `${JSON.stringify(user)} is not a user name`);
  if (u.password) throw bad(uri, "it holds a password", "use an SSH key (keyfile=) or an agent; passwords cannot be asked for here");
  const keyfile = u.searchParams.get("keyfile") ?? undefined;
  const knownHosts = u.searchParams.get("known_hosts") ?? undefined;
  for (const [what, p] of [
    ["keyfile", keyfile],
    ["known_hosts", knownHosts],
  ] as const) {
    if (p !== undefined && !SAFE_PATH.test(p)) throw bad(uri, `${what} must be an absolute path of letters, digits and ./_@+-`);
  }
  const noVerify = u.searchParams.get("no_verify");
  if (noVerify !== null && noVerify !== "0" && noVerify !== "1") throw bad(uri, "no_verify must be 0 or 1");
  const port = u.port ? Number(u.port) : undefined;
  const label = `${user ? `${user}@` : ""}${u.hostname}${port ? `:${port}` : ""}`;
  return { uri, local: false, instance, label, ssh: { host: u.hostname, port, user, keyfile, knownHosts, noVerify: noVerify === "1" } };
}

/** The alias the SSH configuration below gives the libvirt host. */
export const HOST_ALIAS = "bootc-libvirt-host";

/**
 * An OpenSSH configuration (for `ssh -F`) that reaches a remote libvirt host as libvirt's
 * qemu+ssh does: same user, port, key and host-key checking. Never a control master: every
 * ssh process bootc starts has an owner that ends it.
 */
export function sshConfig(c: Connection): string {
  const s = c.ssh;
  if (!s) throw new Error(`${c.uri} is a local connection`);
  const lines = [
    `Host ${HOST_ALIAS}`,
    `  HostName ${s.host.replace(/^\[|\]$/g, "")}`,
    ...(s.port ? [`  Port ${s.port}`] : []),
    ...(s.user ? [`  User ${s.user}`] : []),
    ...(s.keyfile ? [`  IdentityFile ${s.keyfile}`, "  IdentitiesOnly yes"] : []),
    ...(s.noVerify ? ["  StrictHostKeyChecking no", "  UserKnownHostsFile /dev/null"] : s.knownHosts ? [`  UserKnownHostsFile ${s.knownHosts}`] : []),
    "  BatchMode yes",
    "  ConnectTimeout 15",
    "  ServerAliveInterval 15",
    "  LogLevel ERROR",
  ];
  return lines.join("\n") + "\n";
}
