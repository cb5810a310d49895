import type { Resource, ResourceStore } from "./store.ts";

/** For tests and throwaway runs: nothing survives the process. */
export function memoryStore<T extends Resource>(): ResourceStore<T> {
  const resources = new Map<string, T>();
  return {
    get: async (id) => structuredClone(resources.get(id) ?? null),
    list: async () => [...resources.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => structuredClone(r)),
    async put(id, next) {
      const previous = resources.get(id) ?? null;
      const current = next(structuredClone(previous));
      resources.set(id, structuredClone(current));
      return { previous, current };
    },
    async delete(id, check) {
      const previous = resources.get(id) ?? null;
      if (previous) check?.(structuredClone(previous));
      resources.delete(id);
      return previous;
    },
  };
}
