import type { AwsAccount } from "../account.ts";

/** Where AwsAccount resources live. Implementations make each write atomic. */
export interface AccountStore {
  get(id: string): Promise<AwsAccount | null>;
  list(): Promise<AwsAccount[]>;
  /**
   * Stores the account that `next` builds from the stored one (null when absent), as one atomic
   * read-modify-write: a concurrent writer makes it retry, never lose an update.
   */
  put(id: string, next: (previous: AwsAccount | null) => AwsAccount): Promise<{ previous: AwsAccount | null; current: AwsAccount }>;
  /** Removes the account; returns what was stored, or null. */
  delete(id: string): Promise<AwsAccount | null>;
}
