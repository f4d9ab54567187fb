import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it } from "vitest";
import { runOptionFacts } from "../../engine/core/option-facts.js";
import { RunOptionsSchema } from "../../engine/core/schema.js";
import { appRouter, RunInput } from "./router.js";
import type { ApiContext } from "./trpc.js";

/** Creates VMs in a list rather than on the host: what vms.run hands the engine. */
function fakeContext(created: unknown[]): ApiContext {
  const engine = { createVm: async (input: unknown) => (created.push(input), { name: "x" }) };
  return { engine, jobs: {}, autoRebuild: {}, revokeSessions: () => 0 } as unknown as ApiContext;
}

/** One call over HTTP, as a browser makes it; the JSON body back. */
async function call(path: string, input: unknown, created: unknown[] = []) {
  const req =
    input === undefined
      ? new Request(`http://127.0.0.1/api/trpc/${path}`)
      : new Request(`http://127.0.0.1/api/trpc/${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(input) });
  const res = await fetchRequestHandler({ endpoint: "/api/trpc", req, router: appRouter, createContext: () => fakeContext(created) });
  return (await res.json()) as {
    result?: { data: unknown };
    error?: { data: { code: string; fields?: Array<{ path: Array<string | number>; message: string }> } };
  };
}

describe("vms.run's input is the engine's run options", () => {
  it("is the engine's schema itself, not a copy", () => {
    expect(RunInput).toBe(RunOptionsSchema);
    expect((appRouter._def.procedures as unknown as Record<string, { _def: { inputs: unknown[] } }>)["vms.run"]?._def.inputs).toEqual([RunOptionsSchema]);
  });

  it("answers a bad value with the schema's message on that field's path, and makes nothing", async () => {
    const created: unknown[] = [];
    const body = await call(
      "vms.run",
      { image: "i", name: "Bad Name", memoryMiB: 100, forwards: [{ host: 99999, guest: 80 }], binds: [{ host: "rel", guest: "/mnt", readOnly: false }] },
      created,
    );
    expect(body.error?.data.code).toBe("BAD_REQUEST");
    expect(body.error?.data.fields?.map((f) => [f.path.join("."), f.message])).toEqual([
      ["name", expect.stringMatching(/^use 1–40 characters/)],
      ["memoryMiB", "use 256 MiB to 1 TiB"],
      ["forwards.0.host", "ports are 1–65535"],
      ["binds.0.host", "must be an absolute path"],
    ]);
    expect(created).toEqual([]);
  });

  it("hands the engine the schema's defaults, and the server's connection when none is given", async () => {
    const created: unknown[] = [];
    const before = process.env.BOOTC_CONNECT;
    process.env.BOOTC_CONNECT = "big";
    try {
      await call("vms.run", { image: "i" }, created);
      await call("vms.run", { image: "i", connect: "" }, created);
    } finally {
      if (before === undefined) delete process.env.BOOTC_CONNECT;
      else process.env.BOOTC_CONNECT = before;
    }
    expect(created).toEqual([
      { ...RunOptionsSchema.parse({ image: "i" }), connect: "big" },
      { ...RunOptionsSchema.parse({ image: "i" }), connect: "" },
    ]);
  });
});

describe("meta.runOptions", () => {
  it("gives a form each option's help, default, limits and values, as the engine's schema has them", async () => {
    const body = await call("meta.runOptions", undefined);
    expect(body.result?.data).toEqual(JSON.parse(JSON.stringify(runOptionFacts())));
    const facts = body.result?.data as ReturnType<typeof runOptionFacts>;
    expect(Object.keys(facts)).toEqual(Object.keys(RunOptionsSchema.shape));
    expect(facts.cpus).toMatchObject({ default: RunOptionsSchema.parse({}).cpus, min: 1, max: 64 });
  });
});
