// Resources in a Cloudflare Workers KV namespace, under "<resourceType>/<id>". KV is eventually consistent and has no compare-and-set:
// a write is visible at once in the location that made it and within about 60 s elsewhere, and two
// concurrent writes of one account keep the last. Typed structurally, so the core needs no Workers types.
import type { Resource, ResourceStore } from "./store.ts";

/** The part of a Workers KVNamespace that the store uses. */
export interface WorkersKvLike {
  get(key: string, type: "json"): Promise<unknown>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

export function workersKvStore<T extends Resource>(kv: WorkersKvLike, resourceType: string): ResourceStore<T> {
  const PREFIX = `${resourceType}/`;
  const get = async (id: string): Promise<T | null> => ((await kv.get(PREFIX + id, "json")) as T | null) ?? null;
  return {
    get,
    async list() {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await kv.list({ prefix: PREFIX, ...(cursor ? { cursor } : {}) });
        names.push(...page.keys.map((key) => key.name));
        cursor = page.list_complete ? undefined : page.cursor;
      } while (cursor);
      const resources: (T | null)[] = await Promise.all(names.map((name) => get(name.slice(PREFIX.length))));
      return resources.filter((resource): resource is T => resource !== null);
    },
    async put(id, next) {
      const previous = await get(id);
      const current = next(previous);
      await kv.put(PREFIX + id, JSON.stringify(current));
      return { previous, current };
    },
    async delete(id, check) {
      const previous = await get(id);
      if (previous) {
        check?.(previous);
        await kv.delete(PREFIX + id);
      }
      return previous;
    },
  };
}
