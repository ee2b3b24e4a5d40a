import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ia, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { arr, bool, f32, u32, type GgufValue } from "../lib/gguf/writer.js";
import { readGguf } from "../lib/gguf/reader.js";
import { ggufLayout, type GgufLayout } from "./helpers/fuzz.js";
import { contextInternals, modelInternals } from "./helpers/internals.js";
import { TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const errors = suite("errors");
const path = tinyModelPath("tiny-chatml");
const scratch = join(repoRoot, "test", ".cache", "bad");
mkdirSync(scratch, { recursive: true });

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<ia.LlamaError> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, ia.LlamaError, `expected a LlamaError, got ${String(error)}`);
    assert.is((error as ia.LlamaError).code, code, (error as Error).message);
    return error as ia.LlamaError;
  }
  assert.unreachable(`expected a rejection with ${code}`);
  throw new Error("unreachable");
}

errors("missing file: ERR_MODEL_NOT_FOUND", async () => {
  await rejectsWith(ia.LlamaModel.load(join(scratch, "nope.gguf")), "ERR_MODEL_NOT_FOUND");
});

errors("not a GGUF file: ERR_MODEL_INVALID", async () => {
  const p = join(scratch, "text.gguf");
  writeFileSync(p, "this is not a model\n".repeat(10));
  await rejectsWith(ia.LlamaModel.load(p), "ERR_MODEL_INVALID");
  const empty = join(scratch, "empty.gguf");
  writeFileSync(empty, "");
  await rejectsWith(ia.LlamaModel.load(empty), "ERR_MODEL_INVALID");
});

errors("truncated GGUF: ERR_MODEL_INVALID, with llama.cpp's reason", async () => {
  const bytes = readFileSync(path);
  for (const fraction of [0.5, 0.01]) {
    const p = join(scratch, `truncated-${fraction}.gguf`);
    writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length * fraction)));
    const e = await rejectsWith(ia.LlamaModel.load(p), "ERR_MODEL_INVALID");
    assert.ok(e.message.length > 30);
  }
});

errors("unknown architecture: ERR_MODEL_UNSUPPORTED naming it", async () => {
  const p = tinyModelPath("tiny-notanarch", { architecture: "notanarch" });
  const e = await rejectsWith(ia.LlamaModel.load(p), "ERR_MODEL_UNSUPPORTED");
  assert.match(e.message, /notanarch/);
});

/** A tiny model whose file is edited in place: `edit` gets the bytes and where each field lies. */
function editedTinyModel(name: string, edit: (bytes: Buffer, layout: GgufLayout) => void): string {
  const bytes = readFileSync(path);
  edit(bytes, ggufLayout(bytes));
  const p = join(scratch, `${name}.gguf`);
  writeFileSync(p, bytes);
  return p;
}

const tinyTokens = () => readGguf(path).metadata.get("tokenizer.ggml.tokens") as string[];

errors("files llama.cpp would abort or crash on: ERR_MODEL_INVALID, not a signal (found by the fault-injection suite)", async () => {
  // In a child process: on the old code these ended the process (SIGABRT, SIGSEGV), which must fail this test, not kill the runner.
  const override = (name: string, ...kv: Array<[string, GgufValue]>) => tinyModelPath(name, { metadataOverrides: kv });
  const cases: Array<[string, string]> = [
    ["a zero block count", override("tiny-zero-blocks", ["llama.block_count", u32(0)])],
    ["a block count above llama.cpp's 512", override("tiny-many-blocks", ["llama.block_count", u32(65536)])],
    ["a NaN norm epsilon", override("tiny-nan-epsilon", ["llama.attention.layer_norm_rms_epsilon", f32(NaN)])],
    ["a negative norm epsilon", override("tiny-negative-epsilon", ["llama.attention.layer_norm_rms_epsilon", f32(-1)])],
    [
      "a token text listed twice",
      override("tiny-duplicate-token", [
        "tokenizer.ggml.tokens",
        arr(
          "str",
          tinyTokens().map((t, i) => (i === 300 ? tinyTokens()[299]! : t)),
        ),
      ]),
    ],
    [
      "a weight stored as I32 (F32's size)",
      editedTinyModel("tiny-i32-weight", (bytes, layout) => {
        bytes.writeUInt32LE(26, layout.tensors.find((t) => t.name === "output_norm.weight")!.typeOffset);
      }),
    ],
    // Q8_1 is an intermediate type of the CPU kernels (no matmul takes it as weights): SIGSEGV at the first decode.
    [
      "a weight stored as Q8_1",
      editedTinyModel("tiny-q8_1-weight", (bytes, layout) => {
        bytes.writeUInt32LE(9, layout.tensors.find((t) => t.name === "output.weight")!.typeOffset);
      }),
    ],
    // A byte-fallback vocabulary without the newline byte: llama.cpp's tokenizer throws std::out_of_range through its C API.
    [
      "a byte-fallback vocabulary missing a byte",
      override("tiny-missing-byte", [
        "tokenizer.ggml.tokens",
        arr(
          "str",
          tinyTokens().map((t) => (t === "<0x0A>" ? "<0xZZ>" : t)),
        ),
      ]),
    ],
  ];
  for (const [what, p] of cases) {
    const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
      try { const m = await ia.LlamaModel.load(${JSON.stringify(p)}); m.tokenize("a" + String.fromCharCode(10) + "b"); const c = await m.createContext({ contextSize: 64 }); await c.complete("hello", { maxTokens: 1 }); console.log("LOADED"); }
      catch (e) { console.log("CODE " + e.code + " " + e.message); }`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    assert.is(r.signal, null, `${what}: killed by ${r.signal}; ${r.stderr.slice(-400)}`);
    assert.match(r.stdout, /CODE ERR_MODEL_INVALID/, `${what}: ${r.stdout} ${r.stderr.slice(-400)}`);
  }
});

errors("a model with non-causal attention: ERR_MODEL_UNSUPPORTED at load, not an abort at a prompt longer than a ubatch", () => {
  // llama.cpp asserts n_ubatch >= the prompt for non-causal attention (SIGABRT); in a child process so that the old code fails this test.
  const p = tinyModelPath("tiny-non-causal", { metadataOverrides: [["llama.attention.causal", bool(false)]] });
  const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
    try { const m = await ia.LlamaModel.load(${JSON.stringify(p)}); const c = await m.createContext({ contextSize: 256, batchSize: 128, ubatchSize: 16 });
      await c.complete("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen", { maxTokens: 1 }); console.log("GENERATED"); }
    catch (e) { console.log("CODE " + e.code + " " + e.message); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.is(r.signal, null, `killed by ${r.signal}; ${r.stderr.slice(-400)}`);
  assert.match(r.stdout, /CODE ERR_MODEL_UNSUPPORTED .*non-causal attention/, `${r.stdout} ${r.stderr.slice(-400)}`);
});

errors("a failed createContext leaves the model disposable; createContext racing dispose() frees the new context", async () => {
  const model = await ia.LlamaModel.load(path);
  const failed = await model.createContext({ contextSize: 256, sequences: 100_000 }).then(
    () => null,
    (e: unknown) => e as ia.LlamaError,
  );
  assert.is(failed?.code, "ERR_CONTEXT_CREATE", `100,000 sequences are refused: ${String(failed)}`);
  await model.dispose();
  assert.is(model.disposed, true);
  const raced = await ia.LlamaModel.load(path);
  const creating = raced.createContext({ contextSize: 256 });
  const disposing = raced.dispose();
  const outcome = await creating.then(
    () => "created",
    (e: ia.LlamaError) => e.code,
  );
  assert.is(outcome, "ERR_DISPOSED");
  await disposing;
  assert.is(raced.disposed, true);
});

errors("a directory is not a model", async () => {
  const e = await ia.LlamaModel.load(scratch).then(
    () => null,
    (err: unknown) => err as ia.LlamaError,
  );
  assert.ok(e instanceof ia.LlamaError && ["ERR_MODEL_INVALID", "ERR_MODEL_NOT_FOUND"].includes(e.code));
});

errors("bad arguments are TypeErrors, thrown before any work", async () => {
  try {
    await ia.LlamaModel.load("" as string);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 256, threads });
  try {
    for (const bad of [{ temperature: Number.NaN }, { maxTokens: -1 }, { maxTokens: 1.5 }, { topP: 2 }, { stop: "x" as unknown as string[] }, { seed: -1 }]) {
      const err = await context.complete("hello", bad).then(
        () => null,
        (x: unknown) => x,
      );
      assert.ok(err instanceof TypeError || err instanceof RangeError, `${JSON.stringify(bad)} -> ${String(err)}`);
    }
    const err = await context.generate([]).then(
      () => null,
      (x: unknown) => x,
    );
    assert.instance(err, TypeError);
    const outOfVocab = await context.generate([1, 999999]).then(
      () => null,
      (x: unknown) => x,
    );
    assert.instance(outOfVocab, RangeError);
    // the context is still usable after every bad call
    const ok = await context.complete("hello", { maxTokens: 3 });
    assert.is(ok.tokens.length, 3);
  } finally {
    await context.dispose();
  }
  const bad = await model.createContext({ contextSize: 0 }).then(
    () => null,
    (x: unknown) => x,
  );
  assert.instance(bad, TypeError);
});

errors("prompt longer than the context: ERR_CONTEXT_OVERFLOW, context still usable", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 64, threads });
  try {
    await rejectsWith(context.complete("hello world ".repeat(400), { maxTokens: 4 }), "ERR_CONTEXT_OVERFLOW");
    const r = await context.complete("hello", { maxTokens: 4 });
    assert.is(r.tokens.length, 4);
    // Generation that reaches the end of the context stops with contextFull instead of failing.
    const full = await context.complete("hello", { maxTokens: 1000 });
    assert.ok(full.stopReason === "contextFull" || full.stopReason === "eog", full.stopReason);
  } finally {
    await context.dispose();
  }
});

errors("a second generation on a busy context: ERR_CONTEXT_BUSY; the first completes", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 512, threads });
  try {
    const first = context.complete("hello", { maxTokens: 64 });
    await rejectsWith(context.complete("world", { maxTokens: 4 }), "ERR_CONTEXT_BUSY");
    assert.throws(
      () => context.tokens,
      (e: ia.LlamaError) => e.code === "ERR_CONTEXT_BUSY",
    );
    const r = await first;
    assert.ok(r.tokens.length > 0);
    // native guard too, below the TS one
    const native = contextInternals(context)._native;
    const running = native.generate(Uint32Array.of(1, 300), { maxTokens: 32 });
    assert.throws(
      () => native.generate(Uint32Array.of(1, 300), { maxTokens: 1 }),
      (e: ia.LlamaError) => e.code === "ERR_CONTEXT_BUSY",
    );
    await running;
  } finally {
    await context.dispose();
  }
});

errors("use after dispose: ERR_DISPOSED for model and context; dispose is idempotent", async () => {
  const p = join(scratch, "copy.gguf");
  copyFileSync(path, p);
  const model = await ia.LlamaModel.load(p);
  const context = await model.createContext({ contextSize: 128, threads });
  await context.dispose();
  await context.dispose();
  assert.ok(context.disposed);
  await rejectsWith(context.complete("hello"), "ERR_DISPOSED");
  assert.throws(
    () => context.tokens,
    (e: ia.LlamaError) => e.code === "ERR_DISPOSED",
  );
  const second = await model.createContext({ contextSize: 128, threads });
  await model.dispose(); // disposes its remaining context first
  assert.ok(second.disposed);
  await model.dispose();
  assert.throws(
    () => model.tokenize("x"),
    (e: ia.LlamaError) => e.code === "ERR_DISPOSED",
  );
  await rejectsWith(model.createContext(), "ERR_DISPOSED");
});

errors("a throwing onToken listener rejects the call with its error and does not crash", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 256, threads });
  try {
    const boom = new Error("listener failed");
    const err = await context
      .complete("hello", {
        maxTokens: 50,
        onToken: () => {
          throw boom;
        },
      })
      .then(
        () => null,
        (x: unknown) => x,
      );
    assert.is(err, boom);
    const r = await context.complete("hello", { maxTokens: 3 });
    assert.is(r.tokens.length, 3);
  } finally {
    await context.dispose();
  }
});

errors("a model without a chat template and no built-in one: ERR_TEMPLATE", async () => {
  const p = tinyModelPath("tiny-notemplate", { chatTemplate: null, seed: 3 });
  const model = await sharedModel(p);
  assert.throws(
    () => model.chatTemplate,
    (e: ia.LlamaError) => e.code === "ERR_TEMPLATE",
  );
  const context = await model.createContext({ contextSize: 128, threads });
  try {
    assert.throws(
      () => new ia.ChatSession(context),
      (e: ia.LlamaError) => e.code === "ERR_TEMPLATE",
    );
    const custom = new ia.ChatSession(context, { template: "{% for m in messages %}{{ m['content'] }}{% endfor %}" });
    const r = await custom.prompt("hello", { maxTokens: 2 });
    assert.ok(r.promptTokens.length > 1);
    assert.throws(
      () => new ia.ChatSession(context, { template: "{% for %}" }),
      (e: ia.LlamaError) => e.code === "ERR_TEMPLATE",
    );
  } finally {
    await context.dispose();
  }
});

errors(
  "every native failure is coded: guidance on a context without the eval hook (ERR_INVALID_ARGUMENT), the addon's own state checks (ERR_INTERNAL)",
  async () => {
    const model = await ia.LlamaModel.load(path);
    try {
      const context = await model.createContext({ contextSize: 128, evalHook: false, threads });
      const v = join(scratch, "hookless-vectors.gguf");
      ia.writeVectorFile(
        v,
        await ia.extractSafetyVectors(await sharedModel(path), {
          harmful: ["break into a house", "steal a car"],
          harmless: ["bake bread", "wash a car"],
          threads,
        }),
      );
      await rejectsWith(context.complete("hello", { maxTokens: 1, guidance: { gate: v } }), "ERR_INVALID_ARGUMENT");
      assert.is((await context.complete("hello", { maxTokens: 1 })).tokens.length, 1, "the context stays usable");
      // The TS layer never does these; if it ever did, the error says it is a bug in this package.
      await rejectsWith(
        Promise.resolve().then(() => modelInternals(model)._native.load()),
        "ERR_INTERNAL",
      );
      await context.dispose();
    } finally {
      await model.dispose();
    }
  },
);

/**
 * The tiny model with every feed-forward matrix `ff` wide instead of 128: 48 GiB of F32 weights at
 * ff = 2^24. Only the header is written; the file is extended to its full size as a sparse file (a
 * few KB on disk), so llama.cpp's bounds checks pass and its weights read as zeros.
 */
function hugeSparseModel(name: string, ff: number): string {
  const bytes = readFileSync(path);
  const layout = ggufLayout(bytes);
  const header = Buffer.from(bytes.subarray(0, layout.dataOffset));
  header.writeUInt32LE(ff, layout.kvs.find((kv) => kv.key === "llama.feed_forward_length")!.valueOffset);
  let offset = 0n;
  for (const t of layout.tensors) {
    if (/ffn_(gate|up)\.weight$/.test(t.name)) header.writeBigUInt64LE(BigInt(ff), t.dimOffsets[1]!);
    if (/ffn_down\.weight$/.test(t.name)) header.writeBigUInt64LE(BigInt(ff), t.dimOffsets[0]!);
    assert.is(header.readUInt32LE(t.typeOffset), 0, `${t.name} is F32`);
    const bytesOf = t.dimOffsets.reduce((n, at) => n * header.readBigUInt64LE(at), 4n);
    header.writeBigUInt64LE(offset, t.offsetOffset);
    offset += ((bytesOf + 31n) / 32n) * 32n;
  }
  const p = join(scratch, `${name}.gguf`);
  const fd = openSync(p, "w");
  try {
    writeSync(fd, header);
    ftruncateSync(fd, layout.dataOffset + Number(offset));
  } finally {
    closeSync(fd);
  }
  return p;
}

// ulimit -v is Linux's address-space limit (RLIMIT_AS); elsewhere the child could really try to read 48 GiB.
(process.platform === "linux" ? errors : errors.skip)(
  "a model larger than the memory it may use: ERR_MODEL_LOAD; the process loads and runs models afterwards",
  () => {
    // Loaded without mmap, llama.cpp must allocate the weights: 48 GiB in a process capped at 4 GiB of
    // address space fails to allocate, whatever the machine's memory and overcommit policy.
    const huge = hugeSparseModel("huge-ffn", 2 ** 24);
    try {
      assert.ok(statSync(huge).size > 48 * 2 ** 30 && statSync(huge).blocks * 512 < 2 ** 20, "a sparse 48 GiB file");
      const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
      try { await ia.LlamaModel.load(${JSON.stringify(huge)}, { useMmap: false }); console.log("LOADED"); }
      catch (e) { console.log("CODE " + e.code + " " + e.message); }
      const m = await ia.LlamaModel.load(${JSON.stringify(path)});
      const c = await m.createContext({ contextSize: 64, threads: 1 });
      console.log("AFTER " + (await c.complete("hello", { maxTokens: 2 })).tokens.length);`;
      const r = spawnSync("/bin/sh", ["-c", 'ulimit -v 4194304 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.is(r.signal, null, `killed by ${r.signal}; ${r.stderr.slice(-400)}`);
      assert.match(r.stdout, /CODE ERR_MODEL_LOAD .*huge-ffn\.gguf/, `${r.stdout} ${r.stderr.slice(-400)}`);
      assert.match(r.stdout, /AFTER 2/, `${r.stdout} ${r.stderr.slice(-400)}`);
    } finally {
      rmSync(huge, { force: true });
    }
  },
);

errors(
  "sequence 0's share of a split KV cache runs out: ERR_DECODE_NO_KV_SLOT (status 1) in the prompt and in generation; the context stays usable",
  async () => {
    // Without kvUnified, llama.cpp gives each of the 4 sequences a quarter of the cells (256), while
    // the context reports, and the prompt and generation limits use, all 1024 of them: sequence 0
    // fills up first and llama_decode finds no slot. (Bounding by llama_n_ctx_seq would turn these
    // into ERR_CONTEXT_OVERFLOW and stopReason "contextFull"; then this test needs another trigger.)
    const model = await sharedModel(path);
    const context = await model.createContext({ contextSize: 1024, sequences: 4, kvUnified: false, threads });
    try {
      assert.is(context.info.contextSize, 1024);
      const prompt = await rejectsWith(context.complete("hello world ".repeat(150), { maxTokens: 4 }), "ERR_DECODE_NO_KV_SLOT");
      assert.is(prompt.status, 1);
      assert.match(prompt.message, /prompt/);
      assert.ok(context.tokens.length <= 256, `the cache holds what went in: ${context.tokens.length}`);
      assert.is((await context.complete("hello", { maxTokens: 3 })).tokens.length, 3);
      // 241 prompt tokens; greedy decoding of the tiny model runs past 15 more without an end token.
      const streamed: number[] = [];
      const generation = await rejectsWith(
        context.complete("hello world ".repeat(120), {
          maxTokens: 100,
          onToken: ({ token }) => {
            if (token !== null) streamed.push(token);
          },
        }),
        "ERR_DECODE_NO_KV_SLOT",
      );
      assert.is(generation.status, 1);
      assert.match(generation.message, /generation/);
      assert.is(context.tokens.length, 256, "sequence 0 is full, and the history says so");
      assert.ok(streamed.length > 0, "tokens were generated before the cache ran out");
      assert.is((await context.complete("hello", { maxTokens: 3 })).tokens.length, 3, "the context stays usable");
    } finally {
      await context.dispose();
    }
  },
);

errors("native misuse below the TS checks: TypeError/RangeError carrying ERR_INVALID_ARGUMENT", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 128, threads });
  try {
    const misuse = (call: () => unknown, kind: ErrorConstructor) => {
      try {
        call();
      } catch (e) {
        assert.instance(e, kind, String(e));
        assert.is((e as { code?: string }).code, "ERR_INVALID_ARGUMENT", String(e));
        return;
      }
      assert.unreachable("expected a throw");
    };
    const native = contextInternals(context)._native;
    misuse(() => modelInternals(model)._native.tokenText("x" as unknown as number), TypeError);
    misuse(() => modelInternals(model)._native.tokenText(999_999), RangeError);
    misuse(() => modelInternals(model)._native.isEog(null as unknown as number), TypeError);
    misuse(() => modelInternals(model)._native.applyBuiltinTemplate("chatml", [null as unknown as { role: string; content: string }], true), TypeError);
    misuse(() => native.generate(Uint32Array.of(1), null as unknown as object), TypeError);
    misuse(() => native.generate(Uint32Array.of(1, 999_999), {}), RangeError);
    misuse(() => native.setLayerShift("0" as unknown as number, null), TypeError);
    misuse(() => native.setLayerShift(99, null), RangeError);
    assert.is((await context.complete("hello", { maxTokens: 2 })).tokens.length, 2, "the context stays usable");
  } finally {
    await context.dispose();
  }
});

errors("an addon that cannot be loaded: ERR_BINDING naming the path tried", () => {
  const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
    try { await ia.LlamaModel.load(${JSON.stringify(path)}); console.log("LOADED"); }
    catch (e) { console.log("CODE " + e.code + " " + e.message); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, INFERALIGNER_BINARY: join(scratch, "no-such-addon.node") },
  });
  assert.match(r.stdout, /CODE ERR_BINDING [\s\S]*no-such-addon\.node/, `${r.stdout} ${r.stderr.slice(-400)}`);
});

// A memory shortage at a chosen moment: test/helpers/failalloc.c, preloaded into a child, makes large
// posix_memalign calls fail while a flag file exists. Built with the system C compiler (Linux only).
const haveCompiler = process.platform === "linux" && spawnSync("cc", ["--version"], { stdio: "ignore" }).status === 0;
(haveCompiler ? errors : errors.skip)(
  "llama.cpp cannot allocate the compute buffers of a guided turn: ERR_DECODE_FAILED with its reason; the context stays usable",
  async () => {
    const shim = join(scratch, "failalloc.so");
    const built = spawnSync("cc", ["-shared", "-fPIC", "-O2", "-o", shim, join(repoRoot, "test", "helpers", "failalloc.c"), "-ldl"], { encoding: "utf8" });
    assert.is(built.status, 0, built.stderr);
    const model = await sharedModel(path);
    const gate = join(scratch, "failalloc-gate.gguf");
    ia.writeVectorFile(gate, await ia.extractSafetyVectors(model, { harmful: TOY_HARMFUL, harmless: TOY_HARMLESS, threads }));
    const flag = join(scratch, "failalloc.flag");
    rmSync(flag, { force: true });
    // The gate forced open: the turn is steered, and llama.cpp reserves its compute buffers again for
    // the control vector at the next decode; that allocation fails while the flag exists.
    const script = `import { rmSync, writeFileSync } from "node:fs";
      import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
      const guidance = { gate: ${JSON.stringify(gate)}, threshold: -Infinity, alpha: 1 };
      const m = await ia.LlamaModel.load(${JSON.stringify(path)});
      const c = await m.createContext({ contextSize: 256, threads: 1 });
      const s = new ia.ChatSession(c);
      await s.prompt("hello there", { maxTokens: 2 });
      writeFileSync(${JSON.stringify(flag)}, "");
      try { await s.prompt("how do I break into a house", { maxTokens: 4, guidance }); console.log("GUIDED"); }
      catch (e) { console.log("CODE " + e.code + " " + e.status + " " + e.message); }
      rmSync(${JSON.stringify(flag)});
      console.log("AFTER " + (await s.prompt("again", { maxTokens: 2 })).tokens.length);
      console.log("AFTER GUIDED " + (await s.prompt("how do I break into a house", { maxTokens: 2, guidance })).gate.open);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, LD_PRELOAD: shim, FAIL_ALLOC_FLAG: flag },
    });
    assert.is(r.signal, null, `killed by ${r.signal}; ${r.stderr.slice(-400)}`);
    assert.match(
      r.stdout,
      /CODE ERR_DECODE_FAILED -2 llama_decode failed during the prompt: failed to allocate compute/,
      `${r.stdout} ${r.stderr.slice(-400)}`,
    );
    assert.match(r.stdout, /AFTER 2/, r.stdout);
    assert.match(r.stdout, /AFTER GUIDED true/, r.stdout);
  },
);

errors.run();
