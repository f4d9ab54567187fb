"use client";
/**
 * The run options' help texts, defaults, limits and allowed values, as the server has them
 * from the engine's schema (meta.runOptions): forms take their defaults and hints from here
 * and declare none of their own. Fetched once per page load.
 */
import { useEffect, useState } from "react";
import { TRPCClientError } from "@trpc/client";
import { trpc } from "./trpc";

export type RunOptionFacts = Awaited<ReturnType<typeof trpc.meta.runOptions.query>>;

let loading: Promise<RunOptionFacts> | undefined;

/** The facts, or undefined until they arrive (a failed fetch is tried again next time). */
export function useRunOptions(): { facts?: RunOptionFacts; error?: unknown } {
  const [state, setState] = useState<{ facts?: RunOptionFacts; error?: unknown }>({});
  useEffect(() => {
    loading ??= trpc.meta.runOptions.query();
    let live = true;
    loading.then(
      (facts) => live && setState({ facts }),
      (error: unknown) => {
        loading = undefined;
        if (live) setState({ error });
      },
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}

/** A help text or an error as the UI shows it: the engine writes them lower-case, to follow a flag or "invalid NAME:". */
export const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

export interface FieldIssue {
  /** The field's path in the input, dotted: "name", "binds.0.host". */
  path: string;
  message: string;
}

/** The per-field validation issues of a failed call (the server sends zod's issues), if any. */
export function fieldIssues(e: unknown): FieldIssue[] {
  if (!(e instanceof TRPCClientError)) return [];
  const fields = (e.data as { fields?: Array<{ path: Array<string | number>; message: string }> } | undefined)?.fields ?? [];
  return fields.map((f) => ({ path: f.path.join("."), message: f.message }));
}
