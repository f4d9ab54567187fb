import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { TRPCError } from "@trpc/server";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../engine/errors.js";
import { HTTP_CODE } from "./trpc.js";

describe("engine errors over HTTP", () => {
  it("maps every engine error code to a status; only host trouble is a 5xx, and none is a bare 500", () => {
    const status = Object.fromEntries(ERROR_CODES.map((c) => [c, getHTTPStatusCodeFromError(new TRPCError({ code: HTTP_CODE[c] }))]));
    for (const code of ERROR_CODES) {
      expect(HTTP_CODE[code], code).toBeDefined();
      expect(status[code], code).not.toBe(500);
    }
    expect(status).toMatchObject({ DISK_INVALID: 400, INVALID_ARGUMENT: 400, VM_NOT_FOUND: 404, VM_BUSY: 409, NEEDS_ROOT: 403, MISSING_TOOL: 503, NO_SPACE: 503, BOOT_FAILED: 502, BOOT_TIMEOUT: 504 });
  });
});
