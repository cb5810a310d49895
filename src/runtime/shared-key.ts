// Replicas on one database must seal with one key: what one seals, every other must open. The database keeps a
// check value sealed with the key the replicas seal with (SealingKey/active); a replica that cannot open it refuses
// to start, naming the key id, before it writes anything the others could not read.
import { HttpError } from "../errors.ts";
import type { Sealer } from "../crypto/seal.ts";
import type { ResourceStore } from "../store/store.ts";

export interface SealingKeyCheck {
  resourceType: "SealingKey";
  id: "active";
  "key-id": string;
  /** A fixed, public text sealed with that key: it proves the key, it guards nothing. */
  sealed: string;
  /**
   * The keys rotations moved away from, each by its id and the check text it sealed: a replica that still seals
   * with one of them (that id, and the check opens) is out of date. A key id used again with new bytes is not.
   */
  retired?: { "key-id": string; sealed: string }[];
  meta: { versionId: string; lastUpdated: string };
}

const TEXT = "signpost sealing key check";
const CONTEXT = "SealingKey/active";

/** How a refusal names the store and what seals into it. */
export interface KeyHolder {
  /** The store's key id `theirs` does not open with this key: it `opened` ("does not have" it, or "has under that id with other bytes"). */
  mismatch(theirs: string, opened: string): string;
  /** This key list puts first `mine`, a key the store rotated away from (it seals with `theirs`). */
  rotatedAway(mine: string, theirs: string): string;
}


/** A database that replicas share (PostgreSQL). */
export const REPLICAS: KeyHolder = {
  mismatch: (theirs, opened) =>
    `SIGNPOST_ENCRYPTION_KEY does not match the database's: its other replicas seal with key id "${theirs}", which this one ${opened}; every replica needs the same SIGNPOST_ENCRYPTION_KEY (to rotate, in two rolling steps: the old key first and the new one after it on every replica, then the new one first)`,
  rotatedAway: (mine, theirs) =>
    `SIGNPOST_ENCRYPTION_KEY puts key id "${mine}" first, which the database's replicas rotated away from (they seal with "${theirs}"): list "${theirs}" first, as the other replicas do`,
};

/**
 * A data folder, whose server and CLI seal with `from` (SIGNPOST_ENCRYPTION_KEY, or the folder's encryption-key file):
 * a start with another key (that file lost and made again, the variable set to another) would serve records whose
 * secrets do not open, each URL refused; it stops instead.
 */
export const dataFolderKey = (dataDir: string, from: string): KeyHolder => ({
  mismatch: (theirs, opened) =>
    `the encryption key (${from}) does not match the data folder's: the secrets in ${dataDir} are sealed with key id "${theirs}", which this key ${opened}; set SIGNPOST_ENCRYPTION_KEY to the key they were sealed with, or put it back in ${dataDir}/encryption-key (to rotate: the new key first, the old one after it)`,
  rotatedAway: (mine, theirs) =>
    `the encryption key (${from}) puts key id "${mine}" first, which the data folder ${dataDir} rotated away from (its secrets are sealed with "${theirs}"): list "${theirs}" first`,
});

/**
 * Checks this replica's SIGNPOST_ENCRYPTION_KEY against the one the database's other replicas use, and records it
 * when it is the first (atomically: of two first replicas, one records and the other is checked against it) or
 * newer (a rotation that lists the old key after the new one). Throws the reason otherwise.
 */
export async function checkSharedKey(store: ResourceStore<SealingKeyCheck>, sealer: Sealer, holder: KeyHolder = REPLICAS, now = Date.now): Promise<"recorded" | "matches" | "rotated"> {
  const mine = (previous: SealingKeyCheck | null, sealed: string): SealingKeyCheck => {
    const retired = previous ? [...(previous.retired ?? []), { "key-id": previous["key-id"], sealed: previous.sealed }].slice(-100) : [];
    return {
      resourceType: "SealingKey",
      id: "active",
      "key-id": sealer.activeKeyId,
      sealed,
      ...(retired.length ? { retired } : {}),
      meta: { versionId: String(Number(previous?.meta.versionId ?? 0) + 1), lastUpdated: new Date(now()).toISOString() },
    };
  };
  const sealed = await sealer.seal(TEXT, CONTEXT);
  const { previous } = await store.put("active", (stored) => stored ?? mine(null, sealed));
  if (!previous) return "recorded";
  const opened = await sealer.unseal(previous.sealed, CONTEXT).then(
    (text) => (text === TEXT ? "" : "has under that id with other bytes"),
    (error: unknown) => (error instanceof HttpError && /does not have/.test(error.message) ? "does not have" : "has under that id with other bytes"),
  );
  if (opened) throw new Error(holder.mismatch(previous["key-id"], opened));
  if (previous["key-id"] === sealer.activeKeyId) return "matches";
  // Holding both keys does not say which is newer: a replica still set up for the rotation's first step (the old key
  // first) would move every replica back to the old key, which those that dropped it cannot open.
  const retired = previous.retired?.filter((key) => key["key-id"] === sealer.activeKeyId) ?? [];
  const stillRetired = await Promise.all(retired.map((key) => sealer.unseal(key.sealed, CONTEXT).then((text) => text === TEXT, () => false)));
  if (stillRetired.includes(true)) throw new Error(holder.rotatedAway(sealer.activeKeyId, previous["key-id"]));
  await store.put("active", (stored) => (stored?.sealed === previous.sealed ? mine(stored, sealed) : stored ?? mine(null, sealed)));
  return "rotated";
}
