/**
 * Typed errors for every failure a user can cause or meet. Each carries a stable `code`
 * (for tools and the API) and a `hint` that says what to do; the CLI prints
 * `error: <message>` and the hint, never a stack trace.
 */
export const ERROR_CODES = [
  "MISSING_TOOL",
  "PODMAN_FAILED",
  /** Another podman (a connection) could not be reached: SSH refused, no socket, no such connection. */
  "PODMAN_UNREACHABLE",
  "IMAGE_NOT_FOUND",
  "IMAGE_NOT_BOOTABLE",
  "INVALID_ARGUMENT",
  "VM_NOT_FOUND",
  "VM_BROKEN",
  "VM_EXISTS",
  "VM_BUSY",
  "VM_NOT_RUNNING",
  "VM_RUNNING",
  "PORT_IN_USE",
  "SHARE_PATH",
  "BOOT_FAILED",
  "BOOT_TIMEOUT",
  /** Waiting for a VM that powered itself off cleanly instead: no failure, but it is not ready either. */
  "GUEST_POWERED_OFF",
  "SSH_FAILED",
  "NEEDS_ROOT",
  "DEMO_BUILD_FAILED",
  "BUILD_FAILED",
  "MONITOR_UNREACHABLE",
  "DISK_BUILD_FAILED",
  "DISK_TOO_SMALL",
  "DISK_INVALID",
  "DISK_IN_USE",
  "NO_SPACE",
  "HOST_UNREACHABLE",
  "LIBVIRT_FAILED",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class BootcError extends Error {
  override readonly name = "BootcError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return { code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

export function isBootcError(e: unknown): e is BootcError {
  return e instanceof BootcError;
}
