// One store, one sealing key: what one server seals, every other (and the next start) must open. The store keeps a
// check value sealed with that key (SealingKey/active): a shared PostgreSQL for its replicas, a data folder's
// database for the starts that take turns on it. A start that cannot open it refuses, naming the key id, before it
// writes anything the others could not read; so does one that cannot open the secrets a store holds before it has
// a check (filled by an import, or by a version before the check).
import { HttpError } from "../errors.ts";
import { isSealed, type Sealer, sealedKeyId } from "../crypto/seal.ts";
import type { Resource, ResourceStore } from "../store/store.ts";

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

/** The sealed secret of each type of record that has one (AwsAccount, TokenIntrospector), sealed for `<type>/<id>`. */
export const SECRET_OF: Record<string, (resource: any) => unknown> = {
  AwsAccount: (account) => account["secret-access-key"],
  TokenIntrospector: (introspector) => introspector.jwt?.secret,
};

/** A sealed secret a store holds, and what it is sealed for. */
export interface StoredSecret {
  sealed: string;
  context: string;
}

type Stores = Record<string, Pick<ResourceStore<Resource>, "list">>;

/** A server's stores by the type of record they hold, for the ones that hold sealed secrets. */
export const secretStores = (stores: { accounts: Pick<ResourceStore<Resource>, "list">; introspectors: Pick<ResourceStore<Resource>, "list"> }): Stores => ({
  AwsAccount: stores.accounts,
  TokenIntrospector: stores.introspectors,
});

/** The sealed secrets among the records of `stores` (by type). */
async function* sealedSecrets(stores: Stores): AsyncGenerator<StoredSecret> {
  for (const [type, store] of Object.entries(stores)) {
    const secretOf = SECRET_OF[type];
    if (!secretOf) continue;
    for (const resource of await store.list()) {
      const secret = secretOf(resource);
      if (isSealed(secret)) yield { sealed: secret, context: `${type}/${resource.id}` };
    }
  }
}

/** The first sealed secret among the records of `stores`, or undefined. */
export async function firstSealedSecret(stores: Stores): Promise<StoredSecret | undefined> {
  for await (const secret of sealedSecrets(stores)) return secret;
  return undefined;
}

/** "" when `sealer` opens `sealed`, else why not: it "does not have" the key id, or "has under that id with other bytes". */
const opening = (sealer: Sealer, sealed: string, context: string, text?: string): Promise<string> =>
  sealer.unseal(sealed, context).then(
    (opened) => (text === undefined || opened === text ? "" : "has under that id with other bytes"),
    (error: unknown) => (error instanceof HttpError && /does not have/.test(error.message) ? "does not have" : "has under that id with other bytes"),
  );

/** The check of key `keyId` (`sealed`: TEXT sealed with it), after `previous`, whose key it retires. */
function checkOf(keyId: string, sealed: string, previous: SealingKeyCheck | null, now: () => number): SealingKeyCheck {
  const retired = previous ? [...(previous.retired ?? []), { "key-id": previous["key-id"], sealed: previous.sealed }].slice(-100) : [];
  return {
    resourceType: "SealingKey",
    id: "active",
    "key-id": keyId,
    sealed,
    ...(retired.length ? { retired } : {}),
    meta: { versionId: String(Number(previous?.meta.versionId ?? 0) + 1), lastUpdated: new Date(now()).toISOString() },
  };
}

/**
 * Makes `sealer`'s first key the store's, whatever it was (`npm run signpost -- replace-lost-key`, for a key that is
 * lost), and names the records whose secrets do not open with it (to be stored again). The key it replaces is
 * retired: a start that still puts it first is refused.
 */
export async function recordStoreKey(
  store: ResourceStore<SealingKeyCheck>,
  sealer: Sealer,
  stores: Stores,
  now = Date.now,
): Promise<{ previous: string | undefined; unopened: string[]; underOlder: string[] }> {
  const sealed = await sealer.seal(TEXT, CONTEXT);
  const { previous } = await store.put("active", (stored) => checkOf(sealer.activeKeyId, sealed, stored, now));
  // What does not open, and what opens only with a key listed after the first (to be sealed again before it is dropped).
  const unopened: string[] = [];
  const underOlder: string[] = [];
  for await (const secret of sealedSecrets(stores)) {
    if (await opening(sealer, secret.sealed, secret.context)) unopened.push(secret.context);
    else if (sealedKeyId(secret.sealed) !== sealer.activeKeyId) underOlder.push(`${secret.context} (key id "${sealedKeyId(secret.sealed)}")`);
  }
  return { previous: previous?.["key-id"], unopened, underOlder };
}

/**
 * Why `sealer` cannot open what the store is sealed with (its check, else, none recorded yet, a secret it holds), or
 * undefined when it can; the check, or null. Reads only: a store that cannot be read throws as it does.
 */
export async function storeKeyProblem(store: ResourceStore<SealingKeyCheck>, sealer: Sealer, holder: KeyHolder, firstSecret: () => Promise<StoredSecret | undefined>): Promise<{ problem?: string; check: SealingKeyCheck | null }> {
  const check = await store.get("active");
  if (check) {
    const why = await opening(sealer, check.sealed, CONTEXT, TEXT);
    return why ? { problem: holder.mismatch(check["key-id"], why, "check"), check } : { check };
  }
  const secret = await firstSecret();
  const why = secret && (await opening(sealer, secret.sealed, secret.context));
  return why ? { problem: holder.mismatch(sealedKeyId(secret!.sealed), why, "secret"), check } : { check };
}

/** storeKeyProblem's reason thrown, or the check (null when none): the import's check, which writes nothing. */
export async function requireStoreKey(store: ResourceStore<SealingKeyCheck>, sealer: Sealer, holder: KeyHolder, firstSecret: () => Promise<StoredSecret | undefined>): Promise<SealingKeyCheck | null> {
  const { problem, check } = await storeKeyProblem(store, sealer, holder, firstSecret);
  if (problem) throw new Error(problem);
  return check;
}

/** Do two sealers seal with the same key, its id and its bytes? Each opens what the other seals. */
export async function sameKey(a: Sealer, b: Sealer): Promise<boolean> {
  const opens = async (from: Sealer, to: Sealer) => (await opening(to, await from.seal(TEXT, CONTEXT), CONTEXT, TEXT)) === "";
  return (await opens(a, b)) && (await opens(b, a));
}

/** How a refusal names the store and what seals into it. */
export interface KeyHolder {
  /**
   * The store's key id `theirs` does not open with this key: it `opened` ("does not have" it, or "has under that id
   * with other bytes"). `seen` in the store's check, or (none yet) on a secret it holds.
   */
  mismatch(theirs: string, opened: string, seen: "check" | "secret"): string;
  /** This key list puts first `mine`, a key the store rotated away from (it seals with `theirs`). */
  rotatedAway(mine: string, theirs: string): string;
}

const LOST = 'for a key that is lost, see "npm run signpost -- replace-lost-key"';

/** A database that replicas share (PostgreSQL). */
export const REPLICAS: KeyHolder = {
  mismatch: (theirs, opened, seen) =>
    seen === "check"
      ? `SIGNPOST_ENCRYPTION_KEY does not match the database's: its other replicas seal with key id "${theirs}", which this one ${opened}; every replica needs the same SIGNPOST_ENCRYPTION_KEY (to rotate, in two rolling steps: the old key first and the new one after it on every replica, then the new one first)`
      : `SIGNPOST_ENCRYPTION_KEY does not match the database's: its secrets are sealed with key id "${theirs}", which this one ${opened}; set it to the key they were sealed with (${LOST})`,
  rotatedAway: (mine, theirs) =>
    `SIGNPOST_ENCRYPTION_KEY puts key id "${mine}" first, which the database's replicas rotated away from (they seal with "${theirs}"): list "${theirs}" first, as the other replicas do`,
};

/**
 * A data folder, whose starts seal with `from` (SIGNPOST_ENCRYPTION_KEY, or its encryption-key file): one with
 * another key (the file lost and made again, the variable set to another) would serve records whose secrets do not
 * open, each URL refused; it stops instead.
 */
export function dataFolderKey(dataDir: string, from: string): KeyHolder {
  const keyFile = `${dataDir}/encryption-key`;
  const fix = from === "SIGNPOST_ENCRYPTION_KEY" ? `set SIGNPOST_ENCRYPTION_KEY to that key (or leave it unset, if ${keyFile} holds it)` : `put that key back in ${keyFile} (or set SIGNPOST_ENCRYPTION_KEY to it)`;
  return {
    mismatch: (theirs, opened, seen) =>
      `the encryption key (${from}) does not match the data folder's: ${seen === "check" ? `${dataDir} is sealed with key id "${theirs}"` : `the secrets in ${dataDir} are sealed with key id "${theirs}"`}, which this key ${opened}; ${fix}. To rotate, list the new key first and the old one after it; ${LOST}`,
    rotatedAway: (mine, theirs) =>
      `the encryption key (${from}) puts key id "${mine}" first, which the data folder ${dataDir} rotated away from (it seals with "${theirs}"): list "${theirs}" first`,
  };
}

/**
 * Checks the key a server starts with against the one the store's other servers use, and records it when it is the
 * first (atomically: of two first servers, one records and the other is checked against it; a store that holds
 * secrets already must open one with it first) or newer (a rotation that lists the old key after the new one).
 * Throws the reason otherwise.
 */
export async function checkSharedKey(
  store: ResourceStore<SealingKeyCheck>,
  sealer: Sealer,
  holder: KeyHolder = REPLICAS,
  firstSecret: () => Promise<StoredSecret | undefined> = async () => undefined,
  now = Date.now,
): Promise<"recorded" | "matches" | "rotated"> {
  await requireStoreKey(store, sealer, holder, firstSecret);
  const mine = (previous: SealingKeyCheck | null, sealed: string) => checkOf(sealer.activeKeyId, sealed, previous, now);
  const sealed = await sealer.seal(TEXT, CONTEXT);
  const { previous } = await store.put("active", (stored) => stored ?? mine(null, sealed));
  if (!previous) return "recorded";
  const opened = await opening(sealer, previous.sealed, CONTEXT, TEXT); // another start may have recorded it since
  if (opened) throw new Error(holder.mismatch(previous["key-id"], opened, "check"));
  if (previous["key-id"] === sealer.activeKeyId) return "matches";
  // Holding both keys does not say which is newer: a replica still set up for the rotation's first step (the old key
  // first) would move every replica back to the old key, which those that dropped it cannot open.
  const retired = previous.retired?.filter((key) => key["key-id"] === sealer.activeKeyId) ?? [];
  const stillRetired = await Promise.all(retired.map((key) => sealer.unseal(key.sealed, CONTEXT).then((text) => text === TEXT, () => false)));
  if (stillRetired.includes(true)) throw new Error(holder.rotatedAway(sealer.activeKeyId, previous["key-id"]));
  await store.put("active", (stored) => (stored?.sealed === previous.sealed ? mine(stored, sealed) : stored ?? mine(null, sealed)));
  return "rotated";
}
