// A module for node-loader.test.ts: an import whose binding is never used, which tsc keeps (verbatimModuleSyntax).
import { KEYS } from "../../app.ts";

export const unused = 1;
