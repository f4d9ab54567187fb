import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { TRPCError } from "@trpc/server";
import { describe, expect, it, vi } from "vitest";
import { BootcError, ERROR_CODES } from "../../engine/core/errors.js";
import { HTTP_CODE } from "./trpc.js";

describe("engine errors over HTTP", () => {
  it("maps every engine error code to a status; only host trouble is a 5xx, and none is a bare 500", () => {
    const status = Object.fromEntries(ERROR_CODES.map((c) => [c, getHTTPStatusCodeFromError(new TRPCError({ code: HTTP_CODE[c] }))]));
    for (const code of ERROR_CODES) {
      expect(HTTP_CODE[code], code).toBeDefined();
      expect(status[code], code).not.toBe(500);
    }
    expect(status).toMatchObject({
      DISK_INVALID: 400,
      INVALID_ARGUMENT: 400,
      VM_NOT_FOUND: 404,
      VM_BUSY: 409,
      NEEDS_ROOT: 403,
      MISSING_TOOL: 503,
      NO_SPACE: 503,
      BOOT_FAILED: 502,
      BOOT_TIMEOUT: 504,
    });
  });
});

describe("the documented error table (docs/api.md)", () => {
  it("lists every engine code once, with the HTTP status the server sends and the CLI's exit code", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");
    const rows = [...doc.matchAll(/^\| (\d{3}) \| (\d+) \| ([A-Z_, ]+) \|$/gm)];
    const documented = new Map<string, { status: number; exit: number }>();
    for (const [, status, exit, codes] of rows) {
      for (const code of codes!.split(",").map((c) => c.trim())) {
        expect(documented.has(code), `${code} is listed twice`).toBe(false);
        documented.set(code, { status: Number(status), exit: Number(exit) });
      }
    }
    expect([...documented.keys()].sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      expect(documented.get(code)?.status, code).toBe(getHTTPStatusCodeFromError(new TRPCError({ code: HTTP_CODE[code] })));
      const { printError } = await import("../cli/output.js");
      const quiet = vi.spyOn(console, "error").mockImplementation(() => undefined);
      expect(printError(new BootcError(code, "x"), false), code).toBe(documented.get(code)?.exit);
      quiet.mockRestore();
    }
  });
});
