import type { AwsAccount } from "../account.ts";
import type { AccountStore } from "./store.ts";

/** For tests and throwaway runs: nothing survives the process. */
export function memoryStore(): AccountStore {
  const accounts = new Map<string, AwsAccount>();
  return {
    get: async (id) => structuredClone(accounts.get(id) ?? null),
    list: async () => [...accounts.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((a) => structuredClone(a)),
    async put(id, next) {
      const previous = accounts.get(id) ?? null;
      const current = next(structuredClone(previous));
      accounts.set(id, structuredClone(current));
      return { previous, current };
    },
    async delete(id) {
      const previous = accounts.get(id) ?? null;
      accounts.delete(id);
      return previous;
    },
  };
}
