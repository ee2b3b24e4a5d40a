// LlamaModel.load's progress listener and AbortSignal (issue 12's conventions), on a real model
// where one is installed (a load long enough to be stopped half-way) and on a tiny one.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ia, realModelPaths, repoRoot } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const load = suite("load");
const tiny = tinyModelPath("tiny-chatml");
const real = realModelPaths().qwen2 ?? realModelPaths().gemma3;
// mmap makes a load near-instant; reading the weights into memory gives llama.cpp's progress
// callback many calls, so that a stop half-way is a real stop.
const slow = { useMmap: false, gpu: false } as const;

async function rejection(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.unreachable("expected a rejection");
  throw new Error("unreachable");
}

load("onProgress gets fractions that rise to 1", async () => {
  const seen: number[] = [];
  const model = await ia.LlamaModel.load(real ?? tiny, { ...slow, onProgress: (f) => seen.push(f) });
  assert.ok(seen.length >= 2, `only ${seen.length} progress calls`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, `progress went back: ${seen.join(", ")}`);
  assert.is(seen.at(-1), 1);
  assert.ok(seen[0]! >= 0 && seen[0]! < 1);
  console.log(`    ${seen.length} progress calls`);
  await model.dispose();
});

load("an AbortSignal already aborted: ERR_ABORTED before any work", async () => {
  const error = await rejection(() => ia.LlamaModel.load(tiny, { signal: AbortSignal.abort() }));
  assert.is(error.code, "ERR_ABORTED");
  assert.match(error.message, /aborted before it started/);
});

(real ? load : load.skip)("aborting half-way stops the load (ERR_ABORTED), and the next load works", async () => {
  const controller = new AbortController();
  let last = 0;
  const error = await rejection(() =>
    ia.LlamaModel.load(real!, {
      ...slow,
      signal: controller.signal,
      onProgress: (f) => {
        last = f;
        if (f > 0.2) controller.abort();
      },
    }),
  );
  assert.is(error.code, "ERR_ABORTED", error.message);
  assert.ok(last < 1, `the load ran to the end (${last})`);
  const model = await ia.LlamaModel.load(real!, { gpu: false });
  assert.ok(model.info.layerCount > 0);
  await model.dispose();
});

load("a progress listener that throws stops the load, which rejects with its error", async () => {
  const mine = new Error("stop right there");
  const error = await rejection(() =>
    ia.LlamaModel.load(real ?? tiny, {
      ...slow,
      onProgress: () => {
        throw mine;
      },
    }),
  );
  assert.is(error, mine);
});

load("onProgress and signal of the wrong type are TypeErrors", async () => {
  for (const [options, message] of [
    [{ onProgress: 3 }, /function for onProgress/],
    [{ signal: {} }, /AbortSignal for signal/],
  ] as const) {
    const error = await rejection(() => ia.LlamaModel.load(tiny, options as unknown as ia.ModelOptions));
    assert.instance(error, TypeError);
    assert.match(error.message, message);
  }
});

// llama.cpp's own log, through setLogger: in a child, since the log level and handler are process-wide.
load("llama.cpp's log lines reach setLogger's handler at the level set, and stop with setLogger(null)", () => {
  const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
    const lines = [];
    ia.setLogger((level, text) => { lines.push([level, text]); if (lines.length === 3) throw new Error("a throwing logger is ignored"); });
    ia.setLogLevel(3);
    const a = await ia.LlamaModel.load(${JSON.stringify(tiny)}, { gpu: false });
    await new Promise((r) => setTimeout(r, 200));
    const during = lines.length;
    ia.setLogger(null);
    ia.setLogLevel(0);
    const b = await ia.LlamaModel.load(${JSON.stringify(tiny)}, { gpu: false });
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify({ during, after: lines.length, levels: [...new Set(lines.map((l) => l[0]))], sample: lines.slice(0, 3) }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr.slice(-800));
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { during: number; after: number; levels: string[]; sample: Array<[string, string]> };
  assert.ok(out.during > 5, `only ${out.during} lines`);
  assert.is(out.after, out.during, "lines after setLogger(null)");
  assert.ok(
    out.levels.every((l) => ["error", "warn", "info"].includes(l)),
    out.levels.join(),
  );
  assert.ok(out.sample.every(([, text]) => text.length > 0 && !text.endsWith("\n")));
  assert.not.match(r.stderr, /llama_model_loader/, "lines went to stderr as well");
});

load.run();
