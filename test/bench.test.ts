import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { medianWithInterval } from "../dist/bench/runBench.js";
import { repoRoot, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

// The benchmark's mechanics on a tiny model (numbers are the benchmark's business, not the tests').
const bench = suite("bench");
const bin = join(repoRoot, "dist", "cli", "index.js");
const scratch = join(repoRoot, "test", ".cache", "bench");
mkdirSync(scratch, { recursive: true });

bench("inferaligner bench: every configuration measured, node-llama-cpp and another build (child process) included, JSON written", () => {
  const json = join(scratch, "bench.json");
  const addon = join(repoRoot, "build", "Release", "inferaligner.node");
  assert.ok(existsSync(addon));
  const r = spawnSync(process.execPath, [bin, "bench", "--model", tinyModelPath("tiny-chatml"), "--reps", "1", "--tokens", "4", "--threads", String(threads),
    "--compare-binary", `same=${addon}`, "--json", json], { encoding: "utf8", timeout: 300_000 });
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(readFileSync(json, "utf8")) as { rows: Array<{ name: string; pp: { median: number }; tg: { median: number }; ppRatio: number; pairedTg: unknown }>; extraction: { ratio: number } };
  const names = result.rows.map((x) => x.name);
  for (const expected of ["plain, harmless prompt", "monitor, gate closed (harmless)", "plain, harmful prompt", "steer, gate open (harmful)", "plain, same build (harmless, child process)"]) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(" | ")}`);
  }
  assert.ok(names.some((n) => n.startsWith("node-llama-cpp ")));
  for (const row of result.rows) assert.ok(row.pp.median > 0 && row.tg.median > 0 && Number.isFinite(row.ppRatio), row.name);
  assert.is(result.rows[0]!.ppRatio, 1);
  assert.equal(result.rows[0]!.pairedTg, { median: 1, low: 1, high: 1, n: 1 });
  assert.ok(result.extraction.ratio > 0);
  assert.match(r.stdout, /\| steer, gate open \(harmful\) \|/);
  const bad = spawnSync(process.execPath, [bin, "bench", "--model", tinyModelPath("tiny-chatml"), "--compare-binary", "nolabel"], { encoding: "utf8" });
  assert.is(bad.status, 2);
});

bench("medianWithInterval: the sign-test interval of the median, checked against binomial tables", () => {
  const xs = (n: number) => Array.from({ length: n }, (_, i) => n - i); // unsorted on purpose
  // n = 5: no symmetric rank pair reaches 95% coverage except the extremes (1 - 2/32 = 93.75%).
  assert.equal(medianWithInterval(xs(5)), { median: 3, low: 1, high: 5, n: 5 });
  // n = 9: ranks 2 and 8 (coverage 1 - 2*10/512 = 96.1%); ranks 3 and 7 would be 82%.
  assert.equal(medianWithInterval(xs(9)), { median: 5, low: 2, high: 8, n: 9 });
  // n = 21: ranks 6 and 16 (coverage 97.3%); ranks 7 and 15 would be 92.2%.
  assert.equal(medianWithInterval(xs(21)), { median: 11, low: 6, high: 16, n: 21 });
  assert.equal(medianWithInterval([2, 1]), { median: 1.5, low: 1, high: 2, n: 2 });
  assert.ok(Number.isNaN(medianWithInterval([]).median));
});

bench.run();
