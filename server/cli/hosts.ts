import { enginePaths } from "../../engine/core/paths.js";
import { BootcError } from "../../engine/core/errors.js";
import { addHost, knownHosts, removeHost } from "../../engine/runtime/libvirt/hosts.js";
import { parseCommand, printJson, table } from "./output.js";

const HELP = `Usage: bootc hosts [--json]
       bootc hosts add NAME URI [--pool POOL]
       bootc hosts rm NAME

Saved libvirt connections, by name, for bootc run --connect NAME. A URI is
qemu:///system (libvirt on this machine) or qemu+ssh://[USER@]HOST[:PORT]/system with
libvirt's keyfile=, known_hosts= and no_verify=1 parameters. Disks go into the storage
pool POOL there (default: bootc's own pool "bootc", made on first use). bootc list shows
the VMs of every saved host. Removing a host forgets it; its VMs stay in libvirt.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand({ args: argv, allowPositionals: true, options: { json: { type: "boolean" }, pool: { type: "string" } } }, HELP);
  const paths = enginePaths();
  const [verb, name, uri, ...extra] = positionals;
  if (verb === "add") {
    if (!name || !uri || extra.length)
      throw new BootcError("INVALID_ARGUMENT", "bootc hosts add takes a NAME and a URI", "e.g. bootc hosts add big qemu+ssh://me@big.example/system");
    const host = await addHost(paths, { name, uri, ...(values.pool ? { pool: values.pool } : {}) });
    if (values.json) printJson({ name: host.name, uri: host.uri, pool: host.pool });
    else console.log(`saved ${host.name} (${host.connection.label}); boot there with: bootc run --connect ${host.name} IMAGE`);
    return 0;
  }
  if (verb === "rm") {
    if (!name || uri) throw new BootcError("INVALID_ARGUMENT", "bootc hosts rm takes one NAME", "list them with: bootc hosts");
    await removeHost(paths, name);
    if (!values.json) console.log(`forgot ${name}`);
    return 0;
  }
  if (verb !== undefined)
    throw new BootcError(
      "INVALID_ARGUMENT",
      `unknown hosts command ${JSON.stringify(verb)}`,
      "use bootc hosts, bootc hosts add NAME URI, or bootc hosts rm NAME",
    );
  const hosts = (await knownHosts(paths)).map((h) => ({ name: h.name, uri: h.uri, pool: h.pool }));
  if (values.json) printJson(hosts);
  else if (!hosts.length) console.log("No libvirt hosts saved. Add one with: bootc hosts add NAME URI");
  else
    console.log(
      table(
        ["NAME", "URI", "POOL"],
        hosts.map((h) => [h.name, h.uri, h.pool]),
      ),
    );
  return 0;
}
