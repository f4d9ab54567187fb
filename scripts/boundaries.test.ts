/**
 * The import boundaries of the design brief are enforced by ESLint (eslint.config.js).
 * This proves the rules bite: a deliberate violation in each layer fails lint.
 */
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: new URL("..", import.meta.url).pathname });

async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId?.endsWith("no-restricted-imports")).map((m) => m.message);
}

async function floorErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "bootc/engine-floors").map((m) => m.message);
}

describe("import boundaries", () => {
  it("engine/ may not import server/", async () => {
    const errors = await boundaryErrors("engine/bad.ts", 'import { main } from "../server/cli/doctor.js";\nexport const x = main;\n');
    expect(errors[0]).toMatch(/engine\/ is a plain library/);
  });

  it("engine/ may not import React", async () => {
    expect(await boundaryErrors("engine/bad.ts", 'import React from "react";\nexport const x = React;\n')).toHaveLength(1);
  });

  it("server/ may not import app/", async () => {
    const errors = await boundaryErrors("server/bad.ts", 'import Page from "../app/page.js";\nexport const x = Page;\n');
    expect(errors[0]).toMatch(/server\/ must not import app\//);
  });

  it("app/ may not import the engine, nor server code other than types and the console protocol", async () => {
    expect(await boundaryErrors("app/bad.tsx", 'import { Engine } from "../engine/index.js";\nexport const x = Engine;\n')).toHaveLength(1);
    expect(await boundaryErrors("app/bad.tsx", 'import { startServer } from "../server/http/server.js";\nexport const x = startServer;\n')).toHaveLength(1);
    expect(await boundaryErrors("app/ok.tsx", 'import type { AppRouter } from "../server/api/router.js";\nexport type X = AppRouter;\n')).toHaveLength(0);
    expect(await boundaryErrors("app/ok.tsx", 'import { encodeAck } from "../server/protocol/frames.js";\nexport const x = encodeAck;\n')).toHaveLength(0);
  });

  it("engine/ importing its own modules is fine", async () => {
    expect(await boundaryErrors("engine/ok.ts", 'import { BootcError } from "./core/errors.js";\nexport const x = BootcError;\n')).toHaveLength(0);
  });
});

describe("engine floors", () => {
  it("a lower floor may not import a higher one", async () => {
    const errors = await floorErrors("engine/core/bad.ts", 'import { Engine } from "../vm/manager.js";\nexport const x = Engine;\n');
    expect(errors[0]).toMatch(/engine\/core must not import engine\/vm: that folder is on a higher floor/);
    expect(
      await floorErrors("engine/disk/bad.ts", 'import { DirectRuntime } from "../runtime/direct/vms.js";\nexport const x = DirectRuntime;\n'),
    ).toHaveLength(1);
  });

  it("folders on one floor are independent: the runtimes never import each other", async () => {
    const errors = await floorErrors("engine/runtime/libvirt/bad.ts", 'import { DirectRuntime } from "../direct/vms.js";\nexport const x = DirectRuntime;\n');
    expect(errors[0]).toMatch(/engine\/runtime\/libvirt must not import engine\/runtime\/direct: folders on one floor are independent/);
    expect(await floorErrors("engine/images/bad.ts", 'import { sshArgv } from "../ssh/command.js";\nexport const x = sshArgv;\n')).toHaveLength(1);
  });

  it("importing downward, or within a folder, is fine", async () => {
    expect(
      await floorErrors(
        "engine/runtime/libvirt/ok.ts",
        'import type { VmRuntime } from "../runtime.js";\nimport { BootcError } from "../../core/errors.js";\nimport { virsh } from "./virsh.js";\nexport type X = VmRuntime;\nexport const x = [BootcError, virsh];\n',
      ),
    ).toHaveLength(0);
    expect(await floorErrors("engine/index.ts", 'export { Engine } from "./vm/manager.js";\n')).toHaveLength(0);
  });
});
