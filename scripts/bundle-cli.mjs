/**
 * Bundles the `bootc` CLI (server/cli.ts) into dist/bundle/bootc.cjs, after tsc has written
 * dist/ (npm run build:cli). Node's ESM loader resolving and reading some 200 files, most of
 * them zod's, was most of a command's start (docs/benchmarks.md); the bundle is one file.
 * CommonJS, so bin/bootc can compile it with V8's code cache (server/cli/code-cache.ts; Node
 * 20 caches no ES module): with the cache, one file costs less than the code-split ES module
 * chunks it replaces, whose every chunk Node compiled anew on each run. A verb's modules
 * still run only when that verb does (esbuild keeps each dynamic import() lazy).
 * bin/bootc's own first step, server/cli/launch.ts, is bundled apart (launch.cjs): it is
 * what Node compiles without a cache.
 *
 * The bundle's first line names its content hash (the code cache is kept per hash), and it
 * is ASCII (bin/bootc reads it as latin1, cheaper than decoding UTF-8).
 *
 * Kept outside: Next.js and React (loaded by `bootc serve` alone, from node_modules, as the
 * prebuilt .next/ expects), and ssh2 with its optional native parts.
 *
 * Modules find files next to themselves through import.meta.url: the monitor's entry
 * (runtime/direct/main.js, which stays tsc's output), the demo recipe, setup.sh,
 * package.json, the Next.js root. A CommonJS bundle has no import.meta, so each module's
 * import.meta.url is replaced by the URL of its compiled file in dist/, written relative to
 * the bundle's own file: the paths computed from it stay those of the unbundled build.
 */
import { createHash } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { build, transform } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT = path.join(ROOT, "dist/bundle");

/** import.meta.url as the module's compiled file in dist/ has it, written relative to the bundle's own URL. */
const moduleUrlAsInDist = {
  name: "module-url-as-in-dist",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes("/node_modules/")) return undefined;
      const source = await readFile(args.path, "utf8");
      if (!source.includes("import.meta.url")) return undefined;
      const compiled = path.relative(OUT, path.join(ROOT, "dist", path.relative(ROOT, args.path))).replace(/\.ts$/, ".js");
      return { contents: source.replaceAll("import.meta.url", `new URL(${JSON.stringify(compiled)}, __bootcBundleUrl).href`), loader: "ts" };
    });
  },
};

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  charset: "ascii",
  logLevel: "warning",
};

await rm(OUT, { recursive: true, force: true });
const result = await build({
  ...common,
  entryPoints: ["server/cli.ts"],
  outfile: path.join(OUT, "bootc.cjs"),
  // ws asks for bufferutil and utf-8-validate only if they are installed (they are optional).
  external: ["next", "next/*", "react", "react-dom", "ssh2", "bufferutil", "utf-8-validate"],
  // import() of what stays outside (Next, ssh2, node:*) becomes require(): a script compiled
  // through vm.Script, as bin/bootc does for the code cache, has no import() on Node 20.
  supported: { "dynamic-import": false },
  // Strict, as the ES modules were ("use strict" after a statement would not count).
  banner: { js: '"use strict";\nconst __bootcBundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [moduleUrlAsInDist],
  // BUNDLE_META=FILE writes what went into the bundle (esbuild's metafile), to see what a verb loads.
  metafile: Boolean(process.env.BUNDLE_META),
});
if (process.env.BUNDLE_META) await writeFile(process.env.BUNDLE_META, JSON.stringify(result.metafile));
await build({ ...common, entryPoints: ["server/cli/launch.ts"], outfile: path.join(OUT, "launch.cjs") });

const bundle = path.join(OUT, "bootc.cjs");
const code = await readFile(bundle, "utf8");
// esbuild escapes what is not ASCII in strings and names, not in regular expressions nor in
// the comments it keeps: each such character becomes its \u escape, the same character in a
// regular expression, a string or a name. Checked: without comments, the escaped bundle
// is the original with those escapes and nothing else.
// eslint-disable-next-line no-control-regex -- every character that is not ASCII
const escape = (js) => js.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const ascii = escape(code);
const withoutComments = async (js) => (await transform(js, { minifyWhitespace: true, charset: "ascii" })).code;
if ((await withoutComments(ascii)) !== escape(await withoutComments(code)))
  throw new Error("escaping the bundle's non-ASCII characters changed more than them");
const id = createHash("sha256").update(ascii).digest("hex").slice(0, 32);
await writeFile(bundle, `// bootc-bundle ${id}\n${ascii}`);
