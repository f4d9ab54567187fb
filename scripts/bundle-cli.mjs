/**
 * Bundles the `bootc` CLI (server/cli.ts) into dist/bundle/, after tsc has written dist/
 * (npm run build:cli). Node's ESM loader resolving and reading some 200 files, most of them
 * zod's, was most of a command's start (docs/benchmarks.md); the bundle is a few files.
 * Code splitting keeps each verb's dynamic import() lazy: `bootc list` loads its own chunks,
 * not the server, tRPC, ws or execa.
 *
 * Kept outside: Next.js and React (loaded by `bootc serve` alone, from node_modules, as the
 * prebuilt .next/ expects), and ssh2 with its optional native parts.
 *
 * Modules find files next to themselves through import.meta.url: the monitor's entry
 * (runtime/direct/main.js, which stays tsc's output), the demo recipe, setup.sh,
 * package.json, the Next.js root. In a chunk, import.meta.url is the chunk's own URL, so
 * each module's import.meta.url is replaced by the URL of its compiled file in dist/: the
 * paths computed from it stay those of the unbundled build.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "dist/bundle");

/** import.meta.url as the module's compiled file in dist/ has it, written relative to the chunk's own URL. */
const moduleUrlAsInDist = {
  name: "module-url-as-in-dist",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const compiled = path.relative(OUT, path.join(ROOT, "dist", path.relative(ROOT, args.path))).replace(/\.ts$/, ".js");
      return { contents: source.replaceAll("import.meta.url", `new URL(${JSON.stringify(compiled)}, import.meta.url).href`), loader: "ts" };
    });
  },
};

await rm(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { bootc: "server/cli.ts" },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // ws asks for bufferutil and utf-8-validate only if they are installed (they are optional).
  external: ["next", "next/*", "react", "react-dom", "ssh2", "bufferutil", "utf-8-validate"],
  // Bundled CommonJS dependencies (ws, cross-spawn, …) call require(); an ES module has none.
  banner: { js: 'import { createRequire as __bootcCreateRequire } from "node:module";\nconst require = __bootcCreateRequire(import.meta.url);' },
  plugins: [moduleUrlAsInDist],
  logLevel: "warning",
  // BUNDLE_META=FILE writes what went into each chunk (esbuild's metafile), to see what a verb loads.
  metafile: Boolean(process.env.BUNDLE_META),
});
if (process.env.BUNDLE_META) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile));
