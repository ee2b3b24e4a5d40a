import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ia, oracleGreedy, sharedModel, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const generate = suite("context.generate");
const path = tinyModelPath("tiny-chatml");
const f16Path = tinyModelPath("tiny-f16-seed7", { seed: 7, tensorType: "F16" });

async function withContext<T>(modelPath: string, fn: (c: ia.LlamaContext) => Promise<T>, options: ia.ContextOptions = {}): Promise<T> {
  const model = await sharedModel(modelPath);
  const context = await model.createContext({ contextSize: 512, threads, ...options });
  try {
    return await fn(context);
  } finally {
    await context.dispose();
  }
}

generate("oracle: raw greedy tokens equal node-llama-cpp's (F32 and F16 models)", async () => {
  for (const p of [path, f16Path]) {
    await withContext(p, async (context) => {
      for (const prompt of ["hello", "the world is", "a b c 1 2 3"]) {
        const r = await context.complete(prompt, { maxTokens: 24, temperature: 0 });
        const theirs = await oracleGreedy(p, r.promptTokens, 24);
        assert.equal(r.tokens, theirs, `${p} prompt=${JSON.stringify(prompt)}`);
        assert.ok(r.tokens.length > 0);
      }
    });
  }
});

generate("oracle: chat-template prompt tokens, greedy equal node-llama-cpp's", async () => {
  await withContext(path, async (context) => {
    const session = new ia.ChatSession(context, { systemPrompt: "be brief" });
    const tokens = session.promptTokens("hello there");
    assert.is(tokens.filter((t) => t === 3).length, 3, "<|im_start|> opens the system, user and assistant turns");
    const r = await session.prompt("hello there", { maxTokens: 20 });
    assert.equal(r.promptTokens, tokens);
    assert.equal(r.tokens, await oracleGreedy(path, tokens, 20));
  });
});

generate("prefix reuse: a second call on a shared prefix equals a fresh context's result", async () => {
  await withContext(path, async (context) => {
    const first = await context.complete("hello world the", { maxTokens: 8 });
    const second = await context.complete("hello world the cat", { maxTokens: 16, captureLogits: true });
    assert.ok(second.timings.reusedTokenCount > 0, "the shared prefix is taken from the KV cache");
    assert.is(second.timings.reusedTokenCount + second.timings.evaluatedTokenCount, second.timings.promptTokenCount);
    void first;
    await withContext(path, async (fresh) => {
      const again = await fresh.complete("hello world the cat", { maxTokens: 16, captureLogits: true });
      assert.equal(again.tokens, second.tokens);
      assert.equal(again.tokens, await oracleGreedy(path, again.promptTokens, 16));
    });
  });
});

generate("identical prompt twice reuses all but the last token and gives the same tokens", async () => {
  await withContext(path, async (context) => {
    const a = await context.complete("hello world", { maxTokens: 12 });
    const b = await context.complete("hello world", { maxTokens: 12 });
    assert.is(b.timings.evaluatedTokenCount, 1);
    assert.equal(a.tokens, b.tokens);
  });
});

generate("maxTokens, stop strings and stop reasons", async () => {
  await withContext(path, async (context) => {
    const r = await context.complete("hello", { maxTokens: 5 });
    assert.is(r.tokens.length, 5);
    assert.is(r.stopReason, "maxTokens");
    const long = await context.complete("hello", { maxTokens: 40 });
    // Pick a stop string that occurs in the greedy text, then check generation ends right before it.
    const stop = long.text.slice(6, 9);
    assert.ok(stop.length === 3);
    const cut = await context.complete("hello", { maxTokens: 40, stop: [stop] });
    assert.is(cut.stopReason, "stop");
    assert.is(cut.stopString, stop);
    assert.is(cut.text, long.text.slice(0, long.text.indexOf(stop)));
    const zero = await context.complete("hello", { maxTokens: 0 });
    assert.equal(zero.tokens, []);
  });
});

generate("streaming: onToken chunks arrive in order, before the promise, and add up to the text", async () => {
  await withContext(path, async (context) => {
    const chunks: ia.GenerationChunk[] = [];
    const r = await context.complete("the world", { maxTokens: 30, onToken: (c: ia.GenerationChunk) => chunks.push(c) });
    assert.is(chunks.map((c) => c.text).join(""), r.text);
    assert.equal(
      chunks.filter((c) => c.token !== null).map((c) => c.token),
      r.tokens,
    );
  });
});

generate("streaming: stop-string text is never streamed", async () => {
  await withContext(path, async (context) => {
    const long = await context.complete("hello", { maxTokens: 40 });
    const stop = long.text.slice(10, 14);
    let streamed = "";
    const r = await context.complete("hello", {
      maxTokens: 40,
      stop: [stop],
      onToken: (c: ia.GenerationChunk) => {
        streamed += c.text;
      },
    });
    assert.is(streamed, r.text);
    assert.not.ok(streamed.includes(stop));
  });
});

generate("async iterator over a chat turn", async () => {
  await withContext(path, async (context) => {
    const session = new ia.ChatSession(context);
    const stream = session.stream("hello", { maxTokens: 16 });
    let text = "";
    for await (const chunk of stream) text += chunk.text;
    const result = await stream.result;
    assert.is(text, result.text);
    assert.is(session.messages.length, 2);
  });
});

generate("sampling: same seed same tokens, different seeds differ, greedy is the default", async () => {
  await withContext(path, async (context) => {
    const opts = { maxTokens: 24, temperature: 1.5, topK: 40, topP: 0.95, minP: 0.01 };
    const a = await context.complete("hello", { ...opts, seed: 11 });
    const b = await context.complete("hello", { ...opts, seed: 11 });
    const c = await context.complete("hello", { ...opts, seed: 12 });
    const d = await context.complete("hello", { ...opts, seed: 13 });
    assert.equal(a.tokens, b.tokens);
    assert.ok(JSON.stringify(a.tokens) !== JSON.stringify(c.tokens) || JSON.stringify(a.tokens) !== JSON.stringify(d.tokens));
    const greedy = await context.complete("hello", { maxTokens: 24 });
    assert.equal(greedy.tokens, await oracleGreedy(path, greedy.promptTokens, 24));
  });
});

generate("multi-turn chat keeps the KV cache and matches a fresh evaluation of the whole conversation", async () => {
  await withContext(path, async (context) => {
    const session = new ia.ChatSession(context);
    await session.prompt("hello", { maxTokens: 10 });
    const second = await session.prompt("the world", { maxTokens: 12 });
    assert.ok(second.timings.reusedTokenCount > 5, `reused ${second.timings.reusedTokenCount}`);
    assert.is(session.messages.length, 4);
    assert.equal(second.tokens, await oracleGreedy(path, second.promptTokens, 12));
  });
});

generate("timings are reported", async () => {
  await withContext(path, async (context) => {
    const r = await context.complete("hello world", { maxTokens: 8 });
    assert.is(r.timings.generatedTokenCount, r.tokens.length);
    assert.is(r.timings.promptTokenCount, r.promptTokens.length);
    assert.ok(r.timings.promptTokensPerSecond > 0);
    assert.ok(r.timings.generationTokensPerSecond > 0);
  });
});

generate("token ids and sizes are checked, not coerced: 1.7, NaN, 'a', 2^32+1, the vocabulary size; contextSize 2^32", async () => {
  await withContext(path, async (c) => {
    const vocab = c.model.info.vocabSize;
    const cases: Array<[unknown[], typeof TypeError | typeof RangeError]> = [
      [[1.7], TypeError],
      [[NaN], TypeError],
      [["a"], TypeError],
      [[2 ** 32 + 1], RangeError],
      [[vocab], RangeError],
      [[-1], RangeError],
      [[1, 2, null], TypeError],
    ];
    for (const [tokens, kind] of cases) {
      try {
        await c.generate(tokens as number[], { maxTokens: 1 });
        assert.unreachable(`accepted ${String(tokens)}`);
      } catch (error) {
        assert.instance(error, kind, `${String(tokens)}: ${(error as Error).message}`);
      }
    }
    const ok = await c.generate([1, 2], { maxTokens: 1 });
    assert.is(ok.tokens.length, 1, "the context still works");
  });
  const model = await sharedModel(path);
  for (const contextSize of [2 ** 32, 2 ** 31]) {
    try {
      await model.createContext({ contextSize });
      assert.unreachable(`contextSize ${contextSize} accepted`);
    } catch (error) {
      assert.instance(error, RangeError);
    }
  }
});

generate("threads beyond the logical processors are lowered to their count; the default is at most that", async () => {
  const model = await sharedModel(path);
  const logical = (await import("node:os")).availableParallelism();
  for (const threads of [1000, undefined]) {
    const context = await model.createContext({ contextSize: 256, ...(threads ? { threads } : {}) });
    try {
      assert.ok(context.info.threads >= 1 && context.info.threads <= logical, `threads ${threads}: ${context.info.threads}`);
      assert.is((await context.generate([1, 2], { maxTokens: 1 })).tokens.length, 1);
    } finally {
      await context.dispose();
    }
  }
});

generate.run();
