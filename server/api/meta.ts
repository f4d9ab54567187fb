/**
 * What a client checks before it relies on the API: its version, and a machine-readable
 * description of every procedure (kind, whether it is stable, the JSON Schema of its
 * input). Stable procedures keep their names, inputs and results within an API version;
 * the others may change with any release (docs/api.md).
 */
import * as z from "zod";

/** Raised only for a change that breaks a stable procedure. */
export const API_VERSION = 1;

export const STABLE_PROCEDURES = [
  "meta.version",
  "meta.describe",
  "images.list",
  "images.inspect",
  "images.pull",
  "images.remove",
  "vms.list",
  "vms.get",
  "vms.run",
  "vms.start",
  "vms.stop",
  "vms.restart",
  "vms.remove",
  "vms.logs",
  "vms.watch",
  "vms.changes",
  "jobs.follow",
  "host.doctor",
] as const;

export interface ProcedureDescription {
  path: string;
  kind: "query" | "mutation" | "subscription";
  stable: boolean;
  /** JSON Schema (draft 2020-12) of the input; absent for procedures without input. */
  input?: unknown;
}

interface ProcedureLike {
  _def: { type: "query" | "mutation" | "subscription"; inputs: unknown[] };
}

/** Describes a tRPC router's procedures (sorted by path) from their definitions. */
export function describeProcedures(procedures: Record<string, unknown>): ProcedureDescription[] {
  return Object.entries(procedures)
    .map(([path, p]) => {
      const def = (p as ProcedureLike)._def;
      const schema = def.inputs[0];
      const input = schema instanceof z.ZodType ? z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) : undefined;
      return { path, kind: def.type, stable: (STABLE_PROCEDURES as readonly string[]).includes(path), ...(input ? { input } : {}) };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}
