/**
 * tRPC setup: the context (the engine and the job list), and error mapping — engine
 * errors become typed API errors that carry the user-facing message, the engine's error
 * code and its hint, never a stack trace.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import type { Engine } from "../../engine/vm/manager.js";
import { isBootcError, type ErrorCode } from "../../engine/errors.js";
import type { AutoRebuild } from "./auto-rebuild.js";
import type { Jobs } from "./jobs.js";

export interface ApiContext {
  engine: Engine;
  jobs: Jobs;
  autoRebuild: AutoRebuild;
}

const HTTP_CODE: Partial<Record<ErrorCode, TRPCError["code"]>> = {
  INVALID_ARGUMENT: "BAD_REQUEST",
  SHARE_PATH: "BAD_REQUEST",
  IMAGE_NOT_FOUND: "NOT_FOUND",
  VM_NOT_FOUND: "NOT_FOUND",
  VM_EXISTS: "CONFLICT",
  VM_BUSY: "CONFLICT",
  VM_RUNNING: "CONFLICT",
  PORT_IN_USE: "CONFLICT",
  VM_NOT_RUNNING: "PRECONDITION_FAILED",
  IMAGE_NOT_BOOTABLE: "UNPROCESSABLE_CONTENT",
  BUILD_FAILED: "UNPROCESSABLE_CONTENT",
};

const t = initTRPC.context<ApiContext>().create({
  sse: { ping: { enabled: true, intervalMs: 10_000 } },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        path: shape.data.path,
        bootc: isBootcError(cause) ? cause.toJSON() : undefined,
        // Validation failures list the fields, so a form can show them in place.
        fields: error.code === "BAD_REQUEST" && cause && "issues" in cause ? (cause as { issues: unknown }).issues : undefined,
      },
    };
  },
});

/** Every engine error passes through here on its way out. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isBootcError(result.error.cause)) {
    const e = result.error.cause;
    throw new TRPCError({ code: HTTP_CODE[e.code] ?? "INTERNAL_SERVER_ERROR", message: e.message, cause: e });
  }
  return result;
});

export const router = t.router;
export const procedure = t.procedure.use(mapErrors);
