"use client";
import { useEffect, useState } from "react";

/** Keeps the latest value of a subscription; restarts when `key` changes. */
export function useLatest<T>(subscribe: (onData: (v: T) => void, onError: (e: unknown) => void) => { unsubscribe(): void }, key: string): { value?: T; error?: unknown } {
  const [state, setState] = useState<{ value?: T; error?: unknown }>({});
  useEffect(() => {
    const sub = subscribe((value) => setState({ value }), (error) => setState((s) => ({ ...s, error })));
    return () => sub.unsubscribe();
  }, [key]);
  return state;
}
