/**
 * A container registry on loopback for the pull tests (the machines these run on reach no
 * outside registry): Debian's docker-registry (or Fedora's docker-distribution), plain HTTP,
 * storage in a temporary directory, a child of the test that stop() ends.
 */
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { tempDir, waitUntil } from "./harness.js";

export interface Registry {
  port: number;
  /** Ends the registry (a child of this test) and waits for it. */
  stop(): Promise<void>;
}

/** registries.conf lines that tell podman these loopback registries speak plain HTTP. */
export const insecureRegistriesConf = (locations: string[]) => locations.map((l) => `[[registry]]\nlocation = "${l}"\ninsecure = true\n`).join("\n");

export async function startRegistry(port: number): Promise<Registry> {
  const dir = tempDir("bce-registry-");
  writeFileSync(
    path.join(dir, "config.yml"),
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const binary = ["/usr/bin/docker-registry", "/usr/bin/registry"].find((b) => existsSync(b));
  if (!binary) throw new Error("no container registry binary (docker-registry): run scripts/setup.sh --tests");
  const child: ResultPromise = execa(binary, ["serve", path.join(dir, "config.yml")], { reject: false, stdio: "ignore" });
  await waitUntil(
    "the registry to answer",
    async () =>
      (await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      )) || undefined,
    30_000,
    200,
  );
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await child;
    },
  };
}
