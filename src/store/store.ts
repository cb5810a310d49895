// Where resources live, whatever the engine: a generic contract (test/unit/store/contract.ts) every store keeps.

// FHIR's id: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'.
const FHIR_ID = /^[A-Za-z0-9.-]{1,64}$/;

/**
 * A resource's id: FHIR's, but not `.` or `..`, which no URL can name (URL parsers remove them as dot segments):
 * such a record could never be read, changed or deleted.
 */
export const isResourceId = (id: string): boolean => FHIR_ID.test(id) && id !== "." && id !== "..";

/** What every stored resource has. */
export interface Resource {
  id: string;
  meta: { versionId: string; lastUpdated: string };
}

/** Where resources of one type live. Implementations make each write atomic. */
export interface ResourceStore<T extends Resource> {
  get(id: string): Promise<T | null>;
  list(): Promise<T[]>;
  /**
   * Stores the resource that `next` builds from the stored one (null when absent), as one atomic
   * read-modify-write: a concurrent writer makes it retry, never lose an update.
   */
  put(id: string, next: (previous: T | null) => T): Promise<{ previous: T | null; current: T }>;
  /**
   * Removes the resource; returns what was stored, or null. `check` sees the stored resource inside the same atomic
   * step and may refuse by throwing (then nothing is removed).
   */
  delete(id: string, check?: (stored: T) => void): Promise<T | null>;
}


/** Told of each write, wherever it was made (another replica included). */
export interface ChangeListener {
  /** The resource `type`/`id` was written or deleted. */
  changed(type: string, id: string): void;
  /** Changes may have been missed (the feed reconnected): forget everything kept. */
  reset(): void;
}

/** Which resource changed, from every replica at once: PostgreSQL's LISTEN/NOTIFY (store/postgres.ts). */
export interface ChangeFeed {
  subscribe(listener: ChangeListener): void;
  /** How many times the feed was re-established after a drop. */
  reconnects(): number;
}

/** A deep copy that nobody can change: what the cache hands out on every hit, and what is kept of it as read back. */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  const copy = (Array.isArray(value) ? value.map(frozenCopy) : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, frozenCopy(v)]))) as T;
  return Object.freeze(copy);
}

/**
 * `read` of each stored record, once per frozen record (the cache hands out one per read): what the record reads
 * back as, kept as a frozen copy; or why it cannot be used, not kept (each use says so again).
 */
export function readOnce<R extends object, T extends object>(read: (record: R, id: string) => T | string): (record: R, id: string) => T | string {
  const kept = new WeakMap<R, T>();
  return (record, id) => {
    const known = kept.get(record);
    if (known !== undefined) return known;
    const found = read(record, id);
    if (typeof found === "string" || !Object.isFrozen(record)) return found;
    const frozen = frozenCopy(found);
    kept.set(record, frozen);
    return frozen;
  };
}
