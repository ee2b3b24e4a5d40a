// The renovation's limits hold (issue 14): no function over 60 lines, no file over 350, in lib/.
import { test } from "uvu";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
// @ts-expect-error: a plain .mjs script without type declarations
import { sizeOffenders, MAX_FILE_LINES, MAX_FUNCTION_LINES } from "../scripts/check-size.mjs";

interface Offender {
  kind: string;
  file: string;
  line: number;
  lines: number;
  name: string;
}

test(`no function in lib/ over ${MAX_FUNCTION_LINES} lines, no file over ${MAX_FILE_LINES}`, () => {
  const offenders = (sizeOffenders() as Offender[]).map((o) => `${o.file}:${o.line} ${o.name} (${o.lines} lines)`);
  assert.equal(offenders, []);
});

test("the checker finds a long function and a long file", () => {
  const long = (sizeOffenders(fileURLToPath(new URL("./fixtures/size", import.meta.url))) as Offender[]).map((o) => `${o.kind} ${o.name} ${o.lines}`);
  assert.equal(long.sort(), ["file test/fixtures/size/long.ts 362", "function tooLong 62"].sort());
});

test.run();
