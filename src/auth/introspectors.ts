// Which TokenIntrospector accepts a token: the one whose jwt.iss is the token's iss, exactly. The stored ones are
// read as a whole (there are few), kept for the account cache's lifetime and dropped at once by this replica's own
// writes; a damaged record accepts nothing. Also the cookie names tokens may come in.
import { storedIntrospector, type TokenIntrospector } from "../domain/introspector.ts";
import type { ResourceStore } from "../store/store.ts";

export type IntrospectorIndex = ReturnType<typeof introspectorIndex>;

interface Index {
  byIssuer: Map<string, TokenIntrospector | "ambiguous">;
  cookies: string[];
  until: number;
}

export function introspectorIndex(store: ResourceStore<TokenIntrospector>, ttlMs: number, now: () => number) {
  let index: Index | undefined;
  let loading: Promise<Index> | undefined;
  let generation = 0;

  async function load(): Promise<Index> {
    const started = generation;
    // Each as it reads back (defaults in); a damaged one accepts nothing.
    const all = (await store.list()).flatMap((record) => {
      const read = storedIntrospector(record, record.id);
      return typeof read === "string" ? [] : [read];
    });
    const byIssuer = new Map<string, TokenIntrospector | "ambiguous">();
    // Two with one issuer (PUT at once, past the route's check): neither is used, as neither was meant to win.
    for (const introspector of all) byIssuer.set(introspector.jwt.iss, byIssuer.has(introspector.jwt.iss) ? "ambiguous" : introspector);
    const cookies = [...new Set(all.flatMap((introspector) => (introspector.cookie ? [introspector.cookie] : [])))];
    const loaded = { byIssuer, cookies, until: now() + ttlMs };
    // A write during the read: keep the answer for this request only.
    if (started === generation) index = loaded;
    return loaded;
  }

  async function current(): Promise<Index> {
    if (index && now() < index.until) return index;
    loading ??= load().finally(() => (loading = undefined));
    return loading;
  }

  return {
    byIssuer: async (iss: string) => (await current()).byIssuer.get(iss),
    cookieNames: async () => (await current()).cookies,
    /** After a write here: the next token reads the store again. */
    clear: () => {
      generation++;
      index = undefined;
      loading = undefined;
    },
  };
}
