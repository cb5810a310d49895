// Object keys that have broken presigners in the wild: every one must round-trip on a real S3 server.
const nfc = "café-\u00e9t\u00e9".normalize("NFC");

export const KEY_CORPUS: readonly string[] = [
  "documents/report.pdf",
  "with space/and  two  spaces.txt",
  "plus+sign/a+b=c.txt",
  "percent/100%/%41%2F%zz.txt",
  "reserved/~!*'()[]&=;,$@#?.txt",
  "unicode/nfc/" + nfc,
  "unicode/nfd/" + nfc.normalize("NFD"),
  "unicode/中文/日本語/한국어.txt",
  "emoji/📄🚀👩‍👩‍👧.txt",
  "deep/" + "abcdefghijklmnopqrstuvwxyz".split("").join("/") + "/leaf.txt",
  "empty//segments///here.txt",
  "trailing-slash/",
  "/leading-slash.txt",
  "dots/.hidden/..dotdot/a.b.c/...",
  "quotes/\"double\" and 'single' `back`.txt",
  "tab-free/back\\slash/{braces}/<angle>/|pipe|/^caret^.txt",
  // exactly 1024 UTF-8 bytes: 14 ASCII + 505 two-byte characters
  "max/1024-bytes/" + "é".repeat(504) + "x",
];
