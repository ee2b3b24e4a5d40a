import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ia, oracleTokenize, sharedModel } from "./helpers/engine.js";
import { TINY_TOKENS, tinyModelPath } from "./helpers/tinyModel.js";
import { modelInternals } from "./helpers/internals.js";

const tokenize = suite("model.tokenize");
const path = tinyModelPath("tiny-chatml");

tokenize("metadata describes the generated model", async () => {
  const model = await sharedModel(path);
  assert.is(model.info.architecture, "llama");
  assert.is(model.info.layerCount, 4);
  assert.is(model.info.embeddingLength, 64);
  assert.is(model.info.contextLength, 2048);
  assert.is(model.info.specialTokens.bos, TINY_TOKENS.bos);
  assert.is(model.info.specialTokens.eos, TINY_TOKENS.eos);
  assert.ok(model.info.specialTokens.endOfGeneration.includes(TINY_TOKENS.imEnd));
  assert.ok(model.info.chatTemplate?.includes("<|im_start|>"));
  assert.is(model.info.metadata["general.architecture"], "llama");
});

tokenize("tokens equal node-llama-cpp's, with and without special-token parsing", async () => {
  const model = await sharedModel(path);
  const text = "<|im_start|>user\nhello world, the cat!<|im_end|>\n";
  for (const parseSpecial of [false, true]) {
    const ours = model.tokenize(text, { addSpecial: false, parseSpecial });
    const theirs = await oracleTokenize(path, text, parseSpecial);
    assert.equal(ours, theirs, `parseSpecial=${parseSpecial}`);
  }
  assert.ok(model.tokenize(text, { addSpecial: false, parseSpecial: true }).includes(TINY_TOKENS.imStart));
  assert.not.ok(model.tokenize(text, { addSpecial: false, parseSpecial: false }).includes(TINY_TOKENS.imStart));
});

tokenize("adds BOS by default and round-trips text", async () => {
  const model = await sharedModel(path);
  const tokens = model.tokenize("hello world");
  assert.is(tokens[0], TINY_TOKENS.bos);
  assert.is(model.detokenize(tokens.slice(1)), "hello world");
  assert.is(model.detokenize([TINY_TOKENS.imEnd], { renderSpecial: true }), "<|im_end|>");
  assert.is(model.detokenize([TINY_TOKENS.imEnd]), "");
  assert.is(model.tokenText(TINY_TOKENS.imStart), "<|im_start|>");
});

tokenize("non-ASCII text survives byte-fallback tokens", async () => {
  const model = await sharedModel(path);
  const text = "naïve café — 日本語 🙂";
  assert.is(model.detokenize(model.tokenize(text, { addSpecial: false })), text);
});

tokenize("bad token ids are a RangeError", async () => {
  const model = await sharedModel(path);
  assert.throws(() => model.detokenize([1e6]), RangeError);
  assert.throws(() => model.tokenText(-5), RangeError);
  assert.throws(() => model.tokenize(42 as unknown as string), TypeError);
});

// A byte-fallback vocabulary tokenizes text outside it superlinearly (measured on the tiny model:
// 32 KB of "é" in 40 ms, 128 KB in 600 ms; 1 MB would take about a minute), so long prompts are
// bounded before the work and tokenized off the JS thread.
tokenize("a prompt that cannot fit the context is refused before tokenizing: complete() and ChatSession", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 256, threads: 1 });
  try {
    const huge = "é".repeat(512 * 1024); // 1 MB
    for (const run of [() => context.complete(huge), () => new ia.ChatSession(context).prompt(huge)]) {
      const e = await run().then(
        () => null,
        (x: ia.LlamaError) => x,
      );
      assert.is(e?.code, "ERR_CONTEXT_OVERFLOW", String(e));
      assert.match(e!.message, /at least \d+ tokens \(\d+ bytes\), more than the context's 256/);
    }
    // Within the bytes bound but longer than the context once tokenized: refused after the work.
    const e = await context.complete("hello world ".repeat(200)).then(
      () => null,
      (x: ia.LlamaError) => x,
    );
    assert.is(e?.code, "ERR_CONTEXT_OVERFLOW", String(e));
    assert.match(e!.message, /the prompt is \d+ tokens, more than the context's 256/);
    assert.is((await context.complete("hello world", { maxTokens: 2 })).tokens.length, 2, "the context stays usable");
  } finally {
    await context.dispose();
  }
});

tokenize("prompts tokenize off the JS thread: timers fire meanwhile; an abort rejects at once; dispose() waits for the work", async () => {
  const model = await ia.LlamaModel.load(path);
  const text = "é".repeat(96 * 1024);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const tokens = await modelInternals(model)._tokenizeAsync(text, { addSpecial: false });
    assert.equal(tokens, model.tokenize(text, { addSpecial: false }), "the same tokens as the synchronous path");
    assert.ok(ticks >= 3, `the event loop ran ${ticks} times while tokenizing`);
  } finally {
    clearInterval(timer);
  }
  const controller = new AbortController();
  const pending = modelInternals(model)._tokenizeAsync(text, { signal: controller.signal });
  setTimeout(() => controller.abort(), 5);
  const e = await pending.then(
    () => null,
    (x: ia.LlamaError) => x,
  );
  assert.is(e?.code, "ERR_ABORTED", String(e));
  // The native work may still run: dispose() waits for it instead of freeing the vocabulary under it.
  const again = modelInternals(model)._tokenizeAsync(text);
  await model.dispose();
  assert.ok((await again).length > 0);
  assert.is(model.disposed, true);
});

tokenize.run();
