import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

// The benchmark's mechanics on a tiny model (numbers are the benchmark's business, not the tests').
// Its statistics and schedule are tested without a model in maths.test.ts.
const bench = suite("bench");
const bin = join(repoRoot, "dist", "cli", "index.js");
const scratch = join(repoRoot, "test", ".cache", "bench");
mkdirSync(scratch, { recursive: true });

bench("inferaligner bench: every configuration measured, node-llama-cpp and another build (child process) included, JSON written", () => {
  const json = join(scratch, "bench.json");
  const addon = join(repoRoot, "build", "Release", "inferaligner.node");
  assert.ok(existsSync(addon));
  const r = spawnSync(
    process.execPath,
    [
      bin,
      "bench",
      "--model",
      tinyModelPath("tiny-chatml"),
      "--reps",
      "1",
      "--tokens",
      "4",
      "--threads",
      String(threads),
      "--compare-binary",
      `same=${addon}`,
      "--json",
      json,
    ],
    { encoding: "utf8", timeout: 300_000 },
  );
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(readFileSync(json, "utf8")) as {
    rows: Array<{ name: string; pp: { median: number }; tg: { median: number }; ppRatio: number; pairedTg: unknown }>;
    extraction: { ratio: number };
  };
  const names = result.rows.map((x) => x.name);
  for (const expected of [
    "plain, harmless prompt",
    "monitor, gate closed (harmless)",
    "plain, harmful prompt",
    "steer, gate open (harmful)",
    "plain, same build (harmless, child process)",
  ]) {
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

bench.run();
