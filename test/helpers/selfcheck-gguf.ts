/**
 * Self-check for the GGUF writer and the tiny model generator against
 * independent implementations:
 *   - numpy's float16 cast (F16 rounding),
 *   - Python `gguf` GGUFReader (file layout, value types, tensor data),
 *   - node-llama-cpp's prebuilt llama.cpp (load, tokenize, generate).
 * Python checks are skipped when python3 + gguf are unavailable.
 *
 * Run by test/ggufOracles.test.ts; alone: npx tsx test/helpers/selfcheck-gguf.ts
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import {
  arr,
  bool,
  encodeGguf,
  f16BitsToF32,
  f32,
  f32ToF16Bits,
  f64,
  i16,
  i32,
  i64,
  i8,
  str,
  u16,
  u32,
  u64,
  u8,
  writeGguf,
  type GgufTensor,
  type GgufValue,
} from "./gguf.js";
import type { Token } from "node-llama-cpp";
import { CHATML_TEMPLATE, encodeTinyModel, makeTinyModel, TINY_TOKENS, tinyModelPath } from "./tinyModel.js";

type Result = "pass" | "fail" | "skip";
const results: Array<[string, Result, string]> = [];

class Skip extends Error {}

async function check(name: string, fn: () => void | string | Promise<void | string>): Promise<void> {
  const t0 = performance.now();
  try {
    const note = (await fn()) ?? "";
    results.push([`${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`, "pass", note]);
  } catch (e) {
    const skipped = e instanceof Skip;
    results.push([name, skipped ? "skip" : "fail", e instanceof Error ? (e.stack ?? e.message) : String(e)]);
  }
}

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const work = mkdtempSync(join(tmpdir(), "gguf-selfcheck-"));

// ---------------------------------------------------------------------------
// Python helpers
// ---------------------------------------------------------------------------

const PY_F16 = `
import sys, numpy as np
x = np.fromfile(sys.argv[1], dtype='<f4')
x.astype(np.float16).view('<u2').tofile(sys.argv[2])
`;

// Integers and floats go out as strings so u64/i64 and float64 survive JSON exactly.
const PY_DUMP = `
import sys, json
import numpy as np
from gguf import GGUFReader, GGUFValueType as T
r = GGUFReader(sys.argv[1])
def enc(v):
    if isinstance(v, bool): return v
    if isinstance(v, (int, np.integer)): return str(int(v))
    if isinstance(v, (float, np.floating)): return repr(float(v))
    if isinstance(v, list): return [enc(x) for x in v]
    return v
fields = {}
for k, f in r.fields.items():
    if k.startswith('GGUF.'): continue
    types = [T(t).name for t in f.types]
    fields[k] = {'types': types, 'value': enc(f.contents())}
tensors = [{
    'name': t.name, 'type': t.tensor_type.name, 'shape': [int(d) for d in t.shape],
    'offset': int(t.data_offset), 'data': [repr(float(v)) for v in t.data.ravel()],
} for t in r.tensors]
json.dump({'alignment': int(r.alignment), 'fields': fields, 'tensors': tensors}, sys.stdout)
`;

function python(script: string, args: string[]): string {
  const r = spawnSync("python3", ["-c", script, ...args], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? r.stderr;
    if (/ModuleNotFoundError|ENOENT/.test(why)) throw new Skip(`python3/gguf/numpy unavailable: ${why.trim().split("\n").pop()}`);
    throw new Error(`python failed: ${why}`);
  }
  return r.stdout;
}

interface Dump {
  alignment: number;
  fields: Record<string, { types: string[]; value: unknown }>;
  tensors: Array<{ name: string; type: string; shape: number[]; offset: number; data: string[] }>;
}

function pyDump(path: string): Dump {
  return JSON.parse(python(PY_DUMP, [path])) as Dump;
}

// ---------------------------------------------------------------------------
// F16
// ---------------------------------------------------------------------------

/** Every finite f16 value round-trips, and each midpoint rounds to the even neighbour. */
function checkF16Exhaustive(): string {
  let midpoints = 0;
  for (let h = 0; h < 0x7c00; h++) {
    for (const sign of [0, 0x8000]) {
      const v = f16BitsToF32(sign | h);
      assert(f32ToF16Bits(v) === (sign | h), `round trip of 0x${(sign | h).toString(16)}`);
      const mid = (v + f16BitsToF32(sign | (h + 1))) / 2; // exact in f32 for all f16 neighbours
      if (Math.fround(mid) !== mid) continue;
      const expected = h % 2 === 0 ? sign | h : sign | (h + 1);
      assert(f32ToF16Bits(mid) === expected, `tie at 0x${(sign | h).toString(16)} -> 0x${f32ToF16Bits(mid).toString(16)}`);
      midpoints++;
    }
  }
  assert(f32ToF16Bits(65520) === 0x7c00, "65520 must round to +inf");
  assert(f32ToF16Bits(65519.99) === 0x7bff, "65519.99 must round to 65504");
  assert(f32ToF16Bits(-0) === 0x8000, "-0");
  assert(f32ToF16Bits(Infinity) === 0x7c00 && f32ToF16Bits(-Infinity) === 0xfc00, "inf");
  assert((f32ToF16Bits(NaN) & 0x7fff) > 0x7c00, "NaN stays NaN");
  assert(f32ToF16Bits(2 ** -25) === 0, "2^-25 ties to 0");
  assert(f32ToF16Bits(2 ** -25 * 1.0001) === 1, "just above 2^-25 rounds to min subnormal");
  return `${midpoints} midpoints`;
}

/** Random f32 bit patterns and values near the f16 range compared with numpy. */
function checkF16AgainstNumpy(): string {
  const n = 1 << 20;
  const x = new Float32Array(n);
  const bits = new Uint32Array(x.buffer);
  let s = 12345;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) bits[i] = next();
    else x[i] = (next() / 2 ** 32 - 0.5) * 2 ** ((next() % 48) - 30); // dense over subnormal..overflow
  }
  const inPath = join(work, "f16-in.bin");
  const outPath = join(work, "f16-out.bin");
  writeFileSync(inPath, new Uint8Array(x.buffer));
  python(PY_F16, [inPath, outPath]);
  const ref = new Uint16Array(new Uint8Array(readFileSync(outPath)).buffer);
  let compared = 0;
  for (let i = 0; i < n; i++) {
    const ours = f32ToF16Bits(x[i]!);
    if (Number.isNaN(x[i]!)) {
      assert((ours & 0x7c00) === 0x7c00 && (ours & 0x3ff) !== 0, `NaN at ${i}`);
      continue;
    }
    assert(ours === ref[i], `f16(${x[i]}) = 0x${ours.toString(16)}, numpy 0x${ref[i]!.toString(16)}`);
    compared++;
  }
  return `${compared} values identical to numpy`;
}

// ---------------------------------------------------------------------------
// GGUF layout via GGUFReader
// ---------------------------------------------------------------------------

const SAMPLE_METADATA: Array<[string, GgufValue]> = [
  ["general.architecture", str("llama")],
  ["t.u8", u8(255)],
  ["t.i8", i8(-128)],
  ["t.u16", u16(65535)],
  ["t.i16", i16(-32768)],
  ["t.u32", u32(4294967295)],
  ["t.i32", i32(-2147483648)],
  ["t.u64", u64(18446744073709551615n)],
  ["t.i64", i64(-9223372036854775808n)],
  ["t.f32", f32(0.1)],
  ["t.f64", f64(0.1)],
  ["t.bool", bool(true)],
  ["t.false", bool(false)],
  ["t.str", str("héllo ▁ wörld \u{1F600}")],
  ["t.empty", str("")],
  ["t.arr_i32", arr("i32", [1, -2, 3])],
  ["t.arr_f32", arr("f32", [0.5, -1.25])],
  ["t.arr_str", arr("str", ["a", "", "▁b"])],
  ["t.arr_u64", arr("u64", [0n, 2n ** 63n])],
  ["t.arr_bool", arr("bool", [true, false])],
  ["t.arr_empty", arr("i32", [])],
];

const PY_TYPE: Record<string, string> = {
  u8: "UINT8",
  i8: "INT8",
  u16: "UINT16",
  i16: "INT16",
  u32: "UINT32",
  i32: "INT32",
  u64: "UINT64",
  i64: "INT64",
  f32: "FLOAT32",
  f64: "FLOAT64",
  bool: "BOOL",
  str: "STRING",
  arr: "ARRAY",
};

function expectedTypes(v: GgufValue): string[] {
  if (v.type !== "arr") return [PY_TYPE[v.type]!];
  // GGUFReader only reports the element type of non-empty arrays.
  return v.values.length === 0 ? ["ARRAY"] : ["ARRAY", PY_TYPE[v.elementType]!];
}

/** Normalizes one of our scalars the way PY_DUMP encodes it. */
function expectedScalar(type: string, v: unknown): unknown {
  if (type === "str" || type === "bool") return v;
  if (type === "f32") return Math.fround(v as number);
  if (type === "f64") return v;
  return String(v);
}

function actualScalar(type: string, v: unknown): unknown {
  return type === "f32" || type === "f64" ? Number(v) : v;
}

function compareField(key: string, want: GgufValue, got: { types: string[]; value: unknown }): void {
  assert(JSON.stringify(got.types) === JSON.stringify(expectedTypes(want)), `${key}: types ${got.types} vs ${expectedTypes(want)}`);
  const elType = want.type === "arr" ? want.elementType : want.type;
  const wantValues: unknown[] = want.type === "arr" ? [...want.values] : [want.value];
  const gotValues = want.type === "arr" ? (got.value as unknown[]) : [got.value];
  assert(wantValues.length === gotValues.length, `${key}: length ${gotValues.length} vs ${wantValues.length}`);
  wantValues.forEach((w, i) => {
    const e = expectedScalar(elType, w);
    const a = actualScalar(elType, gotValues[i]);
    assert(e === a, `${key}[${i}]: got ${String(a)} want ${String(e)}`);
  });
}

function compareTensor(want: GgufTensor, got: Dump["tensors"][number], alignment: number): void {
  assert(got.name === want.name, `name ${got.name} vs ${want.name}`);
  assert(got.type === want.type, `${want.name}: type ${got.type}`);
  assert(JSON.stringify(got.shape) === JSON.stringify(want.shape), `${want.name}: shape ${got.shape} vs ${want.shape}`);
  assert(got.offset % alignment === 0, `${want.name}: absolute offset ${got.offset} not aligned to ${alignment}`);
  assert(got.data.length === want.data.length, `${want.name}: ${got.data.length} elements`);
  for (let i = 0; i < want.data.length; i++) {
    const w = want.type === "F16" ? f16BitsToF32(f32ToF16Bits(want.data[i]!)) : want.data[i]!;
    assert(Number(got.data[i]) === w, `${want.name}[${i}]: ${got.data[i]} vs ${w}`);
  }
}

function sampleTensors(): GgufTensor[] {
  const ramp = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * (i + 1));
  return [
    { name: "a.f32", shape: [3, 5], type: "F32", data: ramp(15, 0.7) },
    { name: "b.f16", shape: [7], type: "F16", data: ramp(7, 1.3) },
    { name: "c.f16.4d", shape: [3, 1, 2, 5], type: "F16", data: ramp(30, 0.1) },
    { name: "d.f32.odd", shape: [1], type: "F32", data: Float32Array.of(-0) },
  ];
}

function checkLayout(alignment?: number): string {
  const path = join(work, `layout-${alignment ?? "default"}.gguf`);
  const tensors = sampleTensors();
  writeGguf(path, SAMPLE_METADATA, tensors, alignment === undefined ? {} : { alignment });
  const dump = pyDump(path);
  assert(dump.alignment === (alignment ?? 32), `alignment ${dump.alignment}`);
  for (const [key, value] of SAMPLE_METADATA) {
    assert(key in dump.fields, `missing ${key}`);
    compareField(key, value, dump.fields[key]!);
  }
  const extra = Object.keys(dump.fields).filter((k) => !SAMPLE_METADATA.some(([m]) => m === k));
  assert(JSON.stringify(extra) === JSON.stringify(alignment && alignment !== 32 ? ["general.alignment"] : []), `extra keys ${extra}`);
  assert(dump.tensors.length === tensors.length, "tensor count");
  tensors.forEach((t, i) => compareTensor(t, dump.tensors[i]!, dump.alignment));
  const size = readFileSync(path).length;
  assert(size % dump.alignment === 0, `file size ${size} not padded`);
  return `${SAMPLE_METADATA.length} keys, ${tensors.length} tensors, alignment ${dump.alignment}`;
}

function checkWriterRejects(): string {
  const bad: Array<[string, () => unknown]> = [
    ["u8 overflow", () => encodeGguf([["k", u8(256)]], [])],
    ["i32 non-integer", () => encodeGguf([["k", i32(1.5)]], [])],
    [
      "duplicate key",
      () =>
        encodeGguf(
          [
            ["k", u8(1)],
            ["k", u8(2)],
          ],
          [],
        ),
    ],
    ["data/shape mismatch", () => encodeGguf([], [{ name: "t", shape: [2, 2], type: "F32", data: new Float32Array(3) }])],
    ["alignment not pow2", () => encodeGguf([], [], { alignment: 24 })],
    ["alignment conflict", () => encodeGguf([["general.alignment", u32(64)]], [], { alignment: 32 })],
  ];
  for (const [what, fn] of bad) {
    let threw = false;
    try {
      fn();
    } catch {
      threw = true;
    }
    assert(threw, `expected rejection: ${what}`);
  }
  return `${bad.length} invalid inputs rejected`;
}

// ---------------------------------------------------------------------------
// Tiny model via GGUFReader
// ---------------------------------------------------------------------------

function checkTinyModelReader(tensorType: "F32" | "F16"): string {
  const path = join(work, `tiny-${tensorType}.gguf`);
  makeTinyModel(path, { tensorType, seed: 3 });
  const dump = pyDump(path);
  const f = dump.fields;
  const types = (k: string): string => f[k]?.types.join("/") ?? "missing";
  const want: Record<string, string> = {
    "general.architecture": "STRING",
    "general.name": "STRING",
    "general.file_type": "UINT32",
    "llama.context_length": "UINT32",
    "llama.embedding_length": "UINT32",
    "llama.block_count": "UINT32",
    "llama.feed_forward_length": "UINT32",
    "llama.attention.head_count": "UINT32",
    "llama.attention.head_count_kv": "UINT32",
    "llama.attention.layer_norm_rms_epsilon": "FLOAT32",
    "llama.rope.dimension_count": "UINT32",
    "llama.rope.freq_base": "FLOAT32",
    "llama.vocab_size": "UINT32",
    "tokenizer.ggml.model": "STRING",
    "tokenizer.ggml.tokens": "ARRAY/STRING",
    "tokenizer.ggml.scores": "ARRAY/FLOAT32",
    "tokenizer.ggml.token_type": "ARRAY/INT32",
    "tokenizer.ggml.bos_token_id": "UINT32",
    "tokenizer.ggml.eos_token_id": "UINT32",
    "tokenizer.ggml.unknown_token_id": "UINT32",
    "tokenizer.ggml.eot_token_id": "UINT32",
    "tokenizer.ggml.add_bos_token": "BOOL",
    "tokenizer.ggml.add_eos_token": "BOOL",
    "tokenizer.ggml.add_space_prefix": "BOOL",
    "tokenizer.chat_template": "STRING",
  };
  for (const [k, t] of Object.entries(want)) assert(types(k) === t, `${k}: ${types(k)} (want ${t})`);
  assert(f["general.file_type"]!.value === (tensorType === "F16" ? "1" : "0"), "file_type");
  assert(f["tokenizer.chat_template"]!.value === CHATML_TEMPLATE, "chat template text");
  const tokens = f["tokenizer.ggml.tokens"]!.value as string[];
  assert(tokens[3] === "<|im_start|>" && tokens[5] === "<0x00>" && tokens[260] === "<0xFF>", "vocab layout");
  assert(String(tokens.length) === f["llama.vocab_size"]!.value, "vocab_size matches tokens");

  // Names/shapes/values must match the in-memory generation exactly.
  const embd = 64;
  const shapes = Object.fromEntries(dump.tensors.map((t) => [t.name, t.shape.join("x")]));
  assert(shapes["token_embd.weight"] === `${embd}x${tokens.length}`, "token_embd shape");
  assert(shapes["blk.3.attn_k.weight"] === `${embd}x32`, "attn_k shape");
  assert(shapes["blk.0.ffn_down.weight"] === `128x${embd}`, "ffn_down shape");
  assert(dump.tensors.length === 3 + 4 * 9, "tensor count");
  const norm = dump.tensors.find((t) => t.name === "blk.0.attn_norm.weight")!;
  assert(norm.type === "F32", "norms stay F32");
  const same = encodeTinyModel({ tensorType, seed: 3 }).equals(readFileSync(path));
  assert(same, "deterministic bytes");
  return `${Object.keys(want).length} keys typed correctly, ${dump.tensors.length} tensors`;
}

/** Decodes tensor values from our own bytes, compared with the reader's view for every element. */
function checkTinyModelValues(): string {
  const path = join(work, "tiny-values.gguf");
  makeTinyModel(path, { tensorType: "F16", seed: 9, layers: 1 });
  const dump = pyDump(path);
  const file = readFileSync(path);
  let n = 0;
  for (const t of dump.tensors) {
    const isF16 = t.type === "F16";
    for (let i = 0; i < t.data.length; i++) {
      const v = isF16 ? f16BitsToF32(file.readUInt16LE(t.offset + 2 * i)) : file.readFloatLE(t.offset + 4 * i);
      assert(Number(t.data[i]) === v, `${t.name}[${i}]`);
      n++;
    }
  }
  return `${n} values`;
}

// ---------------------------------------------------------------------------
// Chat template
// ---------------------------------------------------------------------------

async function checkChatTemplate(): Promise<string> {
  const { Template } = await import("@huggingface/jinja");
  const messages = [
    { role: "system", content: "Be brief." },
    { role: "user", content: "hello" },
  ];
  const rendered = new Template(CHATML_TEMPLATE).render({ messages, add_generation_prompt: true });
  const want = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n";
  assert(rendered === want, `rendered ${JSON.stringify(rendered)}`);
  const noPrompt = new Template(CHATML_TEMPLATE).render({ messages, add_generation_prompt: false });
  assert(noPrompt === want.slice(0, -"<|im_start|>assistant\n".length), "without generation prompt");
  return JSON.stringify(rendered);
}

// ---------------------------------------------------------------------------
// node-llama-cpp (prebuilt llama.cpp)
// ---------------------------------------------------------------------------

async function checkLlamaCpp(): Promise<void> {
  const { getLlama, LlamaChatSession, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({
    // Use @node-llama-cpp/linux-x64's shipped binaries: never build, never fetch llama.cpp sources.
    gpu: false,
    build: "never",
    usePrebuiltBinaries: true,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
    // The default is max(cpuMathCores, 4); on machines with fewer cores the
    // oversubscribed ggml threads spin against each other (~100x slower here).
    maxThreads: Math.min(4, availableParallelism()),
  });

  await check("llama.cpp: load default tiny model, tokenize, greedy generate", async () => {
    const t0 = performance.now();
    const modelPath = tinyModelPath("selfcheck-default");
    const genMs = performance.now() - t0;
    const model = await llama.loadModel({ modelPath });
    try {
      assert(model.tokens.bos === TINY_TOKENS.bos && model.tokens.eos === TINY_TOKENS.eos, "bos/eos");
      assert(model.tokens.eot === TINY_TOKENS.imEnd, `eot ${model.tokens.eot}`);
      const toks = model.tokenize("hello world");
      assert(model.detokenize(toks) === "hello world", "detokenize round trip");
      const ctx = await model.createContext({ contextSize: 256 });
      const seq = ctx.getSequence();
      const out: Token[] = [];
      for await (const t of seq.evaluate([model.tokens.bos!, ...toks], { temperature: 0 })) {
        out.push(t);
        if (out.length >= 8) break;
      }
      assert(out.length === 8, "generated 8 tokens");
      await ctx.dispose();
      return `gen ${genMs.toFixed(0)}ms; "hello world" -> [${toks.join(", ")}]; greedy [${out.join(", ")}] ${JSON.stringify(model.detokenize(out))}`;
    } finally {
      await model.dispose();
    }
  });

  await check("llama.cpp: same seed/options => same greedy tokens; F16 loads", async () => {
    const runs: string[] = [];
    for (const opts of [{ seed: 5 }, { seed: 5 }, { seed: 6 }, { seed: 5, tensorType: "F16" as const }]) {
      const path = join(work, `gen-${runs.length}.gguf`);
      makeTinyModel(path, opts);
      const model = await llama.loadModel({ modelPath: path });
      const ctx = await model.createContext({ contextSize: 128 });
      const out: number[] = [];
      // Random weights may put an EOG token first; yield it rather than stopping silently.
      const input = [model.tokens.bos!, ...model.tokenize("the cat is")];
      for await (const t of ctx.getSequence().evaluate(input, { temperature: 0, yieldEogToken: true })) {
        out.push(t);
        if (out.length >= 6) break;
      }
      runs.push(out.join(","));
      await ctx.dispose();
      await model.dispose();
    }
    assert(runs[0] === runs[1], "same seed differs");
    assert(runs[0] !== runs[2], "different seeds gave identical output");
    return `seed5 [${runs[0]}] seed6 [${runs[2]}] seed5/F16 [${runs[3]}]`;
  });

  await check("llama.cpp: <|im_start|> is one special token; chat template renders", async () => {
    const model = await llama.loadModel({ modelPath: tinyModelPath("selfcheck-default") });
    try {
      const special: number[] = model.tokenize("<|im_start|>user\nhi<|im_end|>\n", true);
      assert(special[0] === TINY_TOKENS.imStart && special.includes(TINY_TOKENS.imEnd), `special: [${special}]`);
      const plain: number[] = model.tokenize("<|im_start|>", false);
      assert(!plain.includes(TINY_TOKENS.imStart), "parsed as special without specialTokens");
      const ctx = await model.createContext({ contextSize: 1024 });
      // The default system prompt is long in this byte-heavy vocab; keep the prompt tiny.
      const session = new LlamaChatSession({ contextSequence: ctx.getSequence(), systemPrompt: "" });
      const reply = await session.prompt("hello", { maxTokens: 6, temperature: 0 });
      const wrapper = session.chatWrapper.wrapperName;
      await ctx.dispose();
      return `special [${special.join(", ")}], plain [${plain.join(", ")}]; chat wrapper ${wrapper}, reply ${JSON.stringify(reply)}`;
    } finally {
      await model.dispose();
    }
  });

  await check("llama.cpp: unknown architecture fails to load (no crash)", async () => {
    const path = join(work, "notanarch.gguf");
    makeTinyModel(path, { architecture: "notanarch" });
    try {
      const model = await llama.loadModel({ modelPath: path });
      await model.dispose();
    } catch (e) {
      return `rejected: ${(e as Error).message.split("\n")[0]}`;
    }
    throw new Error("loaded a notanarch model");
  });

  await llama.dispose();
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  await check("f16: exhaustive round trip + ties-to-even", checkF16Exhaustive);
  await check("f16: matches numpy on 1M values", checkF16AgainstNumpy);
  await check("writer rejects invalid input", checkWriterRejects);
  await check("GGUFReader: all value types, default alignment", () => checkLayout());
  await check("GGUFReader: alignment 64", () => checkLayout(64));
  await check("GGUFReader: tiny model F32", () => checkTinyModelReader("F32"));
  await check("GGUFReader: tiny model F16", () => checkTinyModelReader("F16"));
  await check("GGUFReader: tiny model tensor values", checkTinyModelValues);
  await check("@huggingface/jinja renders CHATML_TEMPLATE", checkChatTemplate);
  await checkLlamaCpp();

  rmSync(work, { recursive: true, force: true });
  for (const [name, result, note] of results) {
    console.log(`${result.toUpperCase().padEnd(4)} ${name}${note ? `\n     ${note.split("\n").join("\n     ")}` : ""}`);
  }
  if (results.some(([, r]) => r === "fail")) process.exitCode = 1;
}

await main();
