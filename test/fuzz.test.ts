// Fault injection, bounded for the default run (fixed seeds; `npm run fuzz` runs thousands of cases):
// seeded mutations of a tiny model and of a vector file, each used in a child process the way a user
// would, must end in success or a coded LlamaError: never a signal, a hang or an uncoded exception.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fuzzModelBase, fuzzScratch, fuzzVectorBase } from "./helpers/fuzzBases.js";
import { runFuzz, type FuzzSummary } from "./helpers/fuzzDriver.js";

const fuzz = suite("fuzz");

function assertNoFailure(summary: FuzzSummary, cases: number): void {
  const failures = [
    ...summary.crashes.map((f) => `crash #${f.index} (${f.what}): ${f.detail}`),
    ...summary.hangs.map((f) => `hang #${f.index} (${f.what}): ${f.detail}`),
    ...summary.uncoded.map((f) => `uncoded #${f.index} (${f.what}): ${f.detail}`),
  ];
  assert.equal(failures, [], failures.join("\n"));
  assert.is(summary.cases, cases);
}

fuzz("model loader: 2,000 mutated tiny GGUFs (F32, F16) loaded, tokenized, chatted with: success or a coded error", async () => {
  for (const [tensorType, cases, seed] of [
    ["F32", 1200, 101],
    ["F16", 800, 102],
  ] as const) {
    const summary = await runFuzz({ kind: "model", base: fuzzModelBase(tensorType), seed, cases, scratch: fuzzScratch, caseTimeoutMs: 20_000 });
    assertNoFailure(summary, cases);
    // The mutator reaches both sides: files that still work and files that are refused.
    assert.ok(summary.ok > cases * 0.05, `${tensorType}: only ${summary.ok} cases loaded`);
    assert.ok((summary.codes.ERR_MODEL_INVALID ?? 0) > cases * 0.3, `${tensorType}: ${JSON.stringify(summary.codes)}`);
  }
});

fuzz("vector files: 1,000 mutated vector files read and used as gate and steer: success or a coded error", async () => {
  const cases = 1000;
  const summary = await runFuzz({
    kind: "vectors",
    base: await fuzzVectorBase(),
    model: fuzzModelBase(),
    seed: 103,
    cases,
    scratch: fuzzScratch,
    caseTimeoutMs: 20_000,
  });
  assertNoFailure(summary, cases);
  assert.ok(summary.ok > cases * 0.05, `only ${summary.ok} cases were usable`);
  assert.ok((summary.codes.ERR_VECTOR_FILE ?? 0) > cases * 0.3, JSON.stringify(summary.codes));
});

fuzz.run();
