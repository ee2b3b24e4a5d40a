// The GGUF writer and the tiny-model generator that every other suite stands on, checked against
// independent implementations (test/helpers/selfcheck-gguf.ts): numpy's float16 cast, the Python
// gguf package's GGUFReader, and node-llama-cpp's own llama.cpp build.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repoRoot } from "./helpers/engine.js";

test("the GGUF writer and tiny models agree with numpy, GGUFReader and node-llama-cpp", () => {
  const tsx = join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs");
  const r = spawnSync(process.execPath, [tsx, join(repoRoot, "test", "helpers", "selfcheck-gguf.ts")], { encoding: "utf8", timeout: 300_000 });
  const lines = r.stdout.split("\n").filter((l) => /^(PASS|FAIL|SKIP) /.test(l));
  const failed = lines.filter((l) => l.startsWith("FAIL"));
  assert.equal(failed, [], r.stdout.slice(-2000));
  assert.is(r.status, 0, r.stderr.slice(-1000));
  // The llama.cpp and writer checks need no Python; the numpy and GGUFReader ones are skipped (and said) without it.
  for (const l of lines.filter((l) => l.startsWith("SKIP"))) console.log(`  (oracle not available: ${l})`);
  const passed = lines.filter((l) => l.startsWith("PASS")).map((l) => l.slice(5));
  for (const name of [
    "f16: exhaustive round trip",
    "writer rejects invalid input",
    "llama.cpp: load default tiny model",
    "llama.cpp: unknown architecture fails",
  ]) {
    assert.ok(
      passed.some((p) => p.startsWith(name)),
      `${name} passed: ${r.stdout.slice(-1500)}`,
    );
  }
});

test.run();
