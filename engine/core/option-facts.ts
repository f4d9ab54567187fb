/**
 * The run options as plain data, for whatever shows them: the CLI's help and flags, the web
 * console's boot dialog (through the API's meta.runOptions). Each option's help text,
 * default, limits and allowed values are read from RunOptionsSchema's JSON Schema, so none
 * of them is written down a second time.
 */
import * as z from "zod";
import { RunOptionsSchema, type ParsedRunOptions } from "./schema.js";

export interface OptionFacts<T = unknown> {
  help: string;
  /** The JSON Schema type: boolean, integer, string, array, object (none for a union). */
  type?: string;
  /** What the option is when left out (for disk size: what an image's disk gets). */
  default?: T;
  /** Bounds of a number. */
  min?: number;
  max?: number;
  /** The values a string may take. */
  values?: string[];
  /** How many items a list may have. */
  maxItems?: number;
  /** The fields of an object, or of each object in a list. */
  fields?: Record<string, OptionFacts>;
}

type Value<T> = T extends Array<infer _> ? T : NonNullable<T>;
export type RunOptionFacts = { [K in keyof ParsedRunOptions]-?: OptionFacts<Value<ParsedRunOptions[K]>> };

interface JsonSchema {
  description?: string;
  type?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
}

// z.number().int() says ±2^53-1 when nothing narrower was asked: that is no limit to show.
const bound = (n: number | undefined) => (n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);

function factsOf(s: JsonSchema): OptionFacts {
  const props = s.properties ?? s.items?.properties;
  const facts: OptionFacts = {
    help: s.description ?? "",
    type: s.type,
    default: s.default,
    min: bound(s.minimum),
    max: bound(s.maximum),
    values: s.enum?.map(String),
    maxItems: s.maxItems,
    fields: props && Object.fromEntries(Object.entries(props).map(([k, v]) => [k, factsOf(v)])),
  };
  // Absent rather than undefined: the facts travel as JSON.
  return Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)) as OptionFacts;
}

let cached: RunOptionFacts | undefined;

/** Every run option's facts, keyed as in RunOptionsSchema. */
export function runOptionFacts(): RunOptionFacts {
  cached ??= (() => {
    const json = z.toJSONSchema(RunOptionsSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    // The schema's own defaults, as parsing fills them in (JSON Schema leaves some out).
    const defaults: Record<string, unknown> = RunOptionsSchema.parse({});
    return Object.fromEntries(
      Object.entries(json.properties ?? {}).map(([k, v]) => [k, factsOf({ ...v, ...(defaults[k] !== undefined ? { default: defaults[k] } : {}) })]),
    ) as RunOptionFacts;
  })();
  return cached;
}
