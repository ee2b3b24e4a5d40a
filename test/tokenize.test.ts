import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ia, oracleTokenize, sharedModel } from "./helpers/engine.js";
import { TINY_TOKENS, tinyModelPath } from "./helpers/tinyModel.js";

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

tokenize.run();
