/**
 * What bin/bootc runs first: the CLI's bundle (dist/bundle/bootc.cjs) with V8's code cache
 * of the command being run (code-cache.ts). Bundled on its own (launch.cjs), small, so that
 * what Node compiles without a cache stays small.
 */
import { readFileSync } from "node:fs";
import { cliCodeCacheDir, enginePaths } from "../../engine/core/paths.js";
import { bundleId, codeCacheFile, runWithCodeCache } from "./code-cache.js";

export function launch(bundle: string): void {
  // latin1: scripts/bundle-cli.mjs makes sure the bundle is ASCII.
  const source = readFileSync(bundle, "latin1");
  const id = bundleId(source);
  const paths = enginePaths();
  runWithCodeCache(bundle, source, id ? { file: codeCacheFile(cliCodeCacheDir(paths), id, process.argv[2] ?? ""), paths } : undefined);
}
