import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ia, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const async = suite("async");
// Wider than the default tiny model, so that a generation lasts long enough to watch.
const path = tinyModelPath("tiny-wide", { embd: 256, layers: 6, ff: 512, heads: 8, headsKv: 4, seed: 5, ctx: 4096 });

async.before(async () => {
  await sharedModel(path);
});

async("the event loop keeps turning during a long generation", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 2048, threads });
  try {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 5);
    const started = performance.now();
    const r = await context.complete("hello", { maxTokens: 1500 });
    const elapsed = performance.now() - started;
    clearInterval(timer);
    assert.ok(r.tokens.length > 100, `generated ${r.tokens.length}`);
    // A blocked loop would give ~0 ticks; a free one about elapsed/5 (timers are coarse on a busy box).
    assert.ok(ticks >= Math.floor(elapsed / 5 / 4), `ticks=${ticks} in ${elapsed.toFixed(0)} ms`);
    console.log(`    ${ticks} timer ticks during ${elapsed.toFixed(0)} ms, ${r.tokens.length} tokens`);
  } finally {
    await context.dispose();
  }
});

async("AbortSignal stops generation promptly; the partial result comes with the error; the context stays usable", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 2048, threads });
  try {
    const controller = new AbortController();
    let streamed = 0;
    const promise = context.complete("hello", {
      maxTokens: 100000,
      signal: controller.signal,
      onToken: () => {
        if (++streamed === 20) controller.abort();
      },
    });
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(error, ia.GenerationAbortedError);
    const aborted = error as ia.GenerationAbortedError<ia.GenerationResult>;
    assert.is(aborted.code, "ERR_ABORTED");
    assert.is(aborted.name, "AbortError");
    assert.ok(aborted.partial !== undefined);
    assert.ok(aborted.partial!.tokens.length >= 20 && aborted.partial!.tokens.length < 200, `partial ${aborted.partial!.tokens.length}`);
    // the KV cache holds exactly the prompt and what was decoded
    const held = context.tokens;
    assert.equal(held.slice(0, aborted.partial!.promptTokens.length), aborted.partial!.promptTokens);
    const after = await context.complete("hello", { maxTokens: 4 });
    assert.is(after.tokens.length, 4);
  } finally {
    await context.dispose();
  }
});

async("abort during prompt processing leaves the KV cache consistent", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 4096, batchSize: 256, ubatchSize: 64, threads });
  try {
    const controller = new AbortController();
    const prompt = model.tokenize("hello world the cat ".repeat(250));
    const promise = context.generate(prompt, { maxTokens: 10, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (error === null) {
      console.log("    (the prompt finished before the abort; nothing to check)");
      return;
    }
    assert.instance(error, ia.GenerationAbortedError);
    const held = context.tokens;
    assert.ok(held.length < prompt.length, `held ${held.length} of ${prompt.length}`);
    assert.equal(held, prompt.slice(0, held.length));
    const partial = (error as ia.GenerationAbortedError<ia.GenerationResult>).partial;
    if (partial) assert.is(partial.timings.evaluatedTokenCount, held.length, "an aborted prefill reports what it evaluated, not the whole prompt");
    // continuing reuses what was kept and gives the same tokens as a clean context
    const resumed = await context.generate(prompt, { maxTokens: 6 });
    assert.is(resumed.timings.reusedTokenCount, held.length);
    const clean = await model.createContext({ contextSize: 4096, batchSize: 256, ubatchSize: 64, threads });
    try {
      const fresh = await clean.generate(prompt, { maxTokens: 6 });
      assert.equal(resumed.tokens, fresh.tokens);
    } finally {
      await clean.dispose();
    }
  } finally {
    await context.dispose();
  }
});

async("an already-aborted signal rejects at once", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 256, threads });
  try {
    const error = await context.complete("hello", { signal: AbortSignal.abort() }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(error, ia.GenerationAbortedError);
  } finally {
    await context.dispose();
  }
});

async("dispose during a generation aborts it, then frees the context", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 2048, threads });
  const running = context.complete("hello", { maxTokens: 100000 }).then(
    () => null,
    (e: unknown) => e,
  );
  await new Promise((r) => setTimeout(r, 30));
  await context.dispose();
  assert.ok(context.disposed);
  const error = await running;
  assert.instance(error, ia.GenerationAbortedError);
});

async("await using disposes the context", async () => {
  const model = await sharedModel(path);
  let ref: ia.LlamaContext | undefined;
  {
    await using context = await model.createContext({ contextSize: 128, threads });
    ref = context;
    assert.not.ok(context.disposed);
  }
  assert.ok(ref.disposed);
});

async("worker.terminate() during load, createContext, generation and tokenization never takes the process down", () => {
  // A child process runs workers that each call the engine and are terminated at staggered moments;
  // on the old build the process died with SIGABRT while settling a promise in a torn-down worker.
  const dir = join(repoRoot, "test", ".cache", "worker-terminate");
  mkdirSync(dir, { recursive: true });
  const entry = JSON.stringify(join(repoRoot, "dist", "index.js"));
  const model = JSON.stringify(path);
  writeFileSync(
    join(dir, "worker.mjs"),
    `
    import { parentPort, workerData } from "node:worker_threads";
    import * as ia from ${entry};
    const model = await ia.LlamaModel.load(${model});
    if (workerData === "tokenize") {
      // Off-thread tokenization of a long text (about 0.4 s): terminated while it runs.
      parentPort.postMessage("tokenize");
      await model._tokenizeAsync("\u00e9".repeat(100000));
    } else {
      const context = await model.createContext({ contextSize: 512, threads: 1 });
      parentPort.postMessage("context");
      await context.complete("once upon a time", { maxTokens: 400 });
    }
    parentPort.postMessage("done");
  `,
  );
  writeFileSync(
    join(dir, "driver.mjs"),
    `
    import { Worker } from "node:worker_threads";
    import * as ia from ${entry};
    const workerFile = new URL("./worker.mjs", import.meta.url);
    let exits = 0;
    for (const delay of [0, 1, 3, 10, 30, 60, 120, 250]) {
      for (const when of ["start", "context", "tokenize"]) {
        const w = new Worker(workerFile, { workerData: when });
        w.on("error", () => {});
        if (when === "start") setTimeout(() => w.terminate(), delay);
        else w.on("message", (m) => { if (m === when) setTimeout(() => w.terminate(), delay); });
        await new Promise((resolve) => w.on("exit", resolve));
        exits++;
      }
    }
    // The engine still works on the main thread afterwards.
    const model = await ia.LlamaModel.load(${model});
    const c = await model.createContext({ contextSize: 256, threads: 1 });
    const r = await c.complete("hello", { maxTokens: 2 });
    console.log("SURVIVED " + exits + " " + r.tokens.length);
  `,
  );
  // About 20 s here; the generous limit is for the sanitizer build (npm run test:asan), several times slower.
  const r = spawnSync(process.execPath, [join(dir, "driver.mjs")], { encoding: "utf8", timeout: 900_000 });
  assert.is(r.signal, null, `killed by ${r.signal}: ${r.stderr.slice(-600)}`);
  assert.match(r.stdout, /SURVIVED 24 2/, `${r.stdout} ${r.stderr.slice(-600)}`);
});

async.run();
