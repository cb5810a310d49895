// A sealer for in-process tests, with a fixed key (never used outside tests).
import { createSealer } from "../src/crypto/seal.ts";

export const TEST_ENCRYPTION_KEY = `test:${btoa("signpost-test-encryption-key-32b")}`;
export const testSealer = await createSealer(TEST_ENCRYPTION_KEY);
