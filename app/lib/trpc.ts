"use client";
/**
 * The browser's API client: tRPC over same-origin HTTP, subscriptions over server-sent
 * events. Only types come from the server. Every call carries the session's key besides
 * the cookie (server/protocol/session-key.ts): the cookie alone opens no API.
 */
import { createTRPCClient, httpLink, httpSubscriptionLink, splitLink, TRPCClientError } from "@trpc/client";
import type { AppRouter } from "../../server/api/router";
import { SESSION_KEY_HEADER } from "../../server/protocol/session-key";
import { sessionKey, withSessionKey } from "./session";

/** A session the server no longer knows (revoked, a restarted server, no key here): sign in again, then come back. */
const fetchOrSignIn: typeof fetch = async (input, init) => {
  const r = await fetch(input, init);
  if (r.status === 401) location.assign(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`);
  return r;
};

export const trpc = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === "subscription",
      true: httpSubscriptionLink({ url: () => withSessionKey("/api/trpc") }),
      false: httpLink({ url: "/api/trpc", headers: () => ({ [SESSION_KEY_HEADER]: sessionKey() }), fetch: fetchOrSignIn }),
    }),
  ],
});

/** The message to show a user for a failed call: the engine's message and hint when there is one. */
export function errorText(e: unknown): string {
  if (e instanceof TRPCClientError) {
    const data = e.data as { bootc?: { message: string; hint?: string }; fields?: Array<{ path: Array<string | number>; message: string }> } | undefined;
    if (data?.bootc) return data.bootc.hint ? `${data.bootc.message}. ${data.bootc.hint}` : data.bootc.message;
    if (data?.fields?.length) return data.fields.map((f) => `${f.path.join(".")}: ${f.message}`).join("; ");
    return e.message;
  }
  return e instanceof Error ? e.message : String(e);
}

export type Vm = Awaited<ReturnType<typeof trpc.vms.list.query>>[number];
export type Image = Awaited<ReturnType<typeof trpc.images.list.query>>[number];
