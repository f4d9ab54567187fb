/**
 * tRPC setup: the context (the engine and the job list), and error mapping — engine
 * errors become typed API errors that carry the user-facing message, the engine's error
 * code and its hint, never a stack trace.
 */
import { initTRPC, TRPCError } from "@trpc/server";
import type { Engine } from "../../engine/vm/manager.js";
import { isBootcError, type ErrorCode } from "../../engine/core/errors.js";
import type { AutoRebuild } from "./auto-rebuild.js";
import type { Jobs } from "./jobs.js";

export interface ApiContext {
  engine: Engine;
  jobs: Jobs;
  autoRebuild: AutoRebuild;
  /** Ends every browser session; returns how many there were. */
  revokeSessions: () => number;
}

/**
 * Every engine error code has its HTTP status (the type makes a new code without one a
 * compile error). 4xx: the request, the input or the state of a VM is the problem;
 * 5xx: the host is (a tool missing, podman failing, no space, the guest not booting).
 */
export const HTTP_CODE: Record<ErrorCode, TRPCError["code"]> = {
  INVALID_ARGUMENT: "BAD_REQUEST",
  SHARE_PATH: "BAD_REQUEST",
  DISK_INVALID: "BAD_REQUEST",
  DISK_TOO_SMALL: "BAD_REQUEST",
  IMAGE_NOT_FOUND: "NOT_FOUND",
  VM_NOT_FOUND: "NOT_FOUND",
  VM_BROKEN: "UNPROCESSABLE_CONTENT",
  VM_EXISTS: "CONFLICT",
  VM_BUSY: "CONFLICT",
  VM_RUNNING: "CONFLICT",
  PORT_IN_USE: "CONFLICT",
  DISK_IN_USE: "CONFLICT",
  VM_NOT_RUNNING: "PRECONDITION_FAILED",
  GUEST_POWERED_OFF: "PRECONDITION_FAILED",
  NEEDS_ROOT: "FORBIDDEN",
  IMAGE_NOT_BOOTABLE: "UNPROCESSABLE_CONTENT",
  BUILD_FAILED: "UNPROCESSABLE_CONTENT",
  DEMO_BUILD_FAILED: "UNPROCESSABLE_CONTENT",
  MISSING_TOOL: "SERVICE_UNAVAILABLE",
  PODMAN_FAILED: "BAD_GATEWAY",
  MONITOR_UNREACHABLE: "BAD_GATEWAY",
  SSH_FAILED: "BAD_GATEWAY",
  BOOT_FAILED: "BAD_GATEWAY",
  DISK_BUILD_FAILED: "BAD_GATEWAY",
  BOOT_TIMEOUT: "GATEWAY_TIMEOUT",
  NO_SPACE: "SERVICE_UNAVAILABLE",
  HOST_UNREACHABLE: "BAD_GATEWAY",
  PODMAN_UNREACHABLE: "BAD_GATEWAY",
  LIBVIRT_FAILED: "BAD_GATEWAY",
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
    throw new TRPCError({ code: HTTP_CODE[e.code], message: e.message, cause: e });
  }
  return result;
});

export const router = t.router;
export const procedure = t.procedure.use(mapErrors);
