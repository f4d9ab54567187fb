// Lint rules, including the import boundaries from the design brief:
//   engine/ imports neither server/ nor app/;  server/ never imports app/;
//   app/ imports only types and the console protocol from server/ (never the engine);
//   inside engine/, folders import only from lower floors (eslint/engine-floors.js).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import { engineFloors } from "./eslint/engine-floors.js";

const boundary = (patterns, message) => ({
  "no-restricted-imports": ["error", { patterns: [{ group: patterns, message }] }],
});

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".next/", "next-env.d.ts", "test-results/", "playwright-report/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["engine/**/*.ts"],
    rules: boundary(
      ["**/server/**", "**/app/**", "next", "next/*", "react", "react-dom"],
      "engine/ is a plain library: it must not import server/, app/, Next or React.",
    ),
  },
  {
    // Inside engine/: each folder imports only from lower floors (eslint/engine-floors.js).
    files: ["engine/**/*.ts"],
    ignores: ["engine/**/*.test.ts"],
    plugins: { bootc: { rules: { "engine-floors": engineFloors } } },
    rules: { "bootc/engine-floors": "error" },
  },
  {
    // The CLI's bundle (scripts/bundle-cli.mjs): zod's `z` export is one object holding all of
    // zod, its 70 locales too, so every command that reads a record loaded 665 KB.
    files: ["engine/**/*.ts", "server/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: 'Use `import * as z from "zod"`: the `z` object keeps all of zod (and its locales) in the CLI bundle.',
        },
      ],
    },
  },
  {
    files: ["server/**/*.ts"],
    rules: boundary(["**/app/**"], "server/ must not import app/; the UI talks to the server over HTTP."),
  },
  {
    files: ["app/**/*.ts", "app/**/*.tsx"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "(^|/)engine/", message: "app/ never imports the engine: it talks to the server over HTTP." },
            {
              regex: "(^|/)server/(?!protocol/)",
              allowTypeImports: true,
              message: "app/ imports only types and server/protocol/ from the server.",
            },
          ],
        },
      ],
    },
  },
);
