/**
 * Tiny random-weight llama-architecture GGUF models for fast tests.
 *
 * The models are meaningless but structurally real: llama.cpp loads them,
 * tokenizes with a SentencePiece-style (byte-fallback) vocab, applies a
 * ChatML template and generates. Weights come from a seeded PRNG so a given
 * set of options always yields the same bytes.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { arr, bool, encodeGguf, f32, str, u32, type GgufTensor, type GgufTensorType, type GgufValue } from "./gguf.js";

export interface TinyModelOptions {
  /** PRNG seed for the weights (default 1). */
  seed?: number;
  /** Transformer blocks (default 4). */
  layers?: number;
  /** Embedding width (default 64). */
  embd?: number;
  /** Attention heads (default 4); must divide embd. */
  heads?: number;
  /** KV heads (default 2); must divide heads (GQA). */
  headsKv?: number;
  /** Feed-forward width (default 128). */
  ff?: number;
  /** `<arch>.context_length` (default 2048). */
  ctx?: number;
  /** Jinja chat template; null omits `tokenizer.chat_template`. Default: CHATML_TEMPLATE. */
  chatTemplate?: string | null;
  /** `general.architecture` and key prefix (default 'llama'); override to get an unloadable file. */
  architecture?: string;
  /** Storage type of the matrices (default F32); 1-D norm weights stay F32 as in real conversions. */
  tensorType?: GgufTensorType;
  /** Multiplies every random weight's standard deviation (default 1). */
  weightScale?: number;
  /** Metadata values that replace the generated ones (same key) or are added (fault injection). */
  metadataOverrides?: ReadonlyArray<[string, GgufValue]>;
}

/** Token ids of the special tokens, fixed across all tiny models. */
export const TINY_TOKENS = { unk: 0, bos: 1, eos: 2, imStart: 3, imEnd: 4 } as const;

/** ChatML; no BOS in the template because the tokenizer adds it (add_bos_token). */
export const CHATML_TEMPLATE =
  "{%- for message in messages -%}" +
  "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}" +
  "{%- endfor -%}" +
  "{%- if add_generation_prompt -%}" +
  "{{- '<|im_start|>assistant\\n' -}}" +
  "{%- endif -%}";

/** llama_token_type values (llama.cpp's LLAMA_TOKEN_TYPE_*). */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

const SPACE = "\u2581"; // SentencePiece word-boundary marker

/**
 * Multi-character pieces. SentencePiece merging only builds a piece out of two
 * adjacent pieces that are themselves in the vocab, so every entry here must be
 * the concatenation of two vocab pieces (checked by buildVocab). Merging is
 * greedy, so order matters among equal-length pieces (earlier = preferred):
 * 'wo' before 'or' lets "world" go w+o, r+ld, wo+rld instead of stalling at w|or|ld.
 */
const MERGED_PIECES = [
  "he",
  "th",
  "in",
  "er",
  "an",
  "re",
  "on",
  "ll",
  "lo",
  "wo",
  "ld",
  "or",
  "is",
  "it",
  "at",
  "en",
  "nd",
  "ou",
  "the",
  "llo",
  "and",
  "ing",
  "rld",
  "hello",
  "world",
  `${SPACE}t`,
  `${SPACE}a`,
  `${SPACE}h`,
  `${SPACE}w`,
  `${SPACE}i`,
  `${SPACE}o`,
  `${SPACE}s`,
  `${SPACE}the`,
  `${SPACE}and`,
  `${SPACE}is`,
  `${SPACE}it`,
  `${SPACE}in`,
  `${SPACE}of`,
  `${SPACE}to`,
  `${SPACE}hello`,
  `${SPACE}world`,
];

const SINGLE_PIECES = [SPACE, ..."abcdefghijklmnopqrstuvwxyz", ..."0123456789", ...".,!?'-:"];

interface Vocab {
  tokens: string[];
  scores: number[];
  types: number[];
}

/** Special tokens, then all 256 byte-fallback tokens, then normal pieces. */
function buildVocab(): Vocab {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const add = (piece: string, type: number, score: number): void => {
    tokens.push(piece);
    types.push(type);
    scores.push(score);
  };

  add("<unk>", TokenType.UNKNOWN, 0);
  add("<s>", TokenType.CONTROL, 0);
  add("</s>", TokenType.CONTROL, 0);
  add("<|im_start|>", TokenType.CONTROL, 0);
  add("<|im_end|>", TokenType.CONTROL, 0);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TokenType.BYTE, 0);

  // SPM merges the adjacent pair whose result scores highest, so longer pieces
  // score higher; the small index term breaks ties deterministically.
  const normal = [...SINGLE_PIECES, ...MERGED_PIECES];
  normal.forEach((piece, i) => add(piece, TokenType.NORMAL, [...piece].length - i * 1e-3));

  const known = new Set(normal);
  for (const piece of MERGED_PIECES) {
    const chars = [...piece];
    const reachable = chars.some((_, k) => k > 0 && known.has(chars.slice(0, k).join("")) && known.has(chars.slice(k).join("")));
    if (!reachable) throw new Error(`tinyModel: piece "${piece}" cannot be formed by merging two vocab pieces`);
  }
  return { tokens, scores, types };
}

// ---------------------------------------------------------------------------
// Deterministic random numbers
// ---------------------------------------------------------------------------

/** mulberry32: tiny 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Approximately standard-normal samples (Irwin-Hall: sum of 4 uniforms,
 * recentred and rescaled to unit variance). Unlike Box-Muller this uses only
 * +, - and *, which IEEE fixes exactly, so the bytes cannot drift with a
 * JS engine's Math.log / Math.cos implementation; it is also bounded (|x| < 3.5).
 */
function normalSampler(seed: number): () => number {
  const uniform = mulberry32(seed);
  const scale = Math.sqrt(3); // Var(sum of 4 U(0,1)) = 1/3
  return () => (uniform() + uniform() + uniform() + uniform() - 2) * scale;
}

// ---------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------

interface Dims {
  vocab: number;
  embd: number;
  heads: number;
  headsKv: number;
  headDim: number;
  ff: number;
  layers: number;
  ctx: number;
}

const DEFAULTS = {
  seed: 1,
  layers: 4,
  embd: 64,
  heads: 4,
  headsKv: 2,
  ff: 128,
  ctx: 2048,
  architecture: "llama",
  tensorType: "F32",
  weightScale: 1,
} as const;

/**
 * The output projection is drawn wider than 1/sqrt(fan_in) so logits have a
 * std of about 3: greedy argmax then usually has a clear winner (top-1
 * probability ~0.4 on average, so engine-to-engine float noise rarely flips
 * it) while sampling still has several plausible candidates.
 */
const OUTPUT_GAIN = 3;

/**
 * Extra gain on the output rows of byte-fallback tokens. Shrinking them makes
 * greedy decoding pick (valid UTF-8) normal pieces almost always, so
 * text-level assertions see readable strings; sampling can still reach bytes.
 */
const BYTE_OUTPUT_GAIN = 0.25;

function resolveDims(opts: TinyModelOptions, vocab: number): Dims {
  const embd = opts.embd ?? DEFAULTS.embd;
  const heads = opts.heads ?? DEFAULTS.heads;
  const headsKv = opts.headsKv ?? DEFAULTS.headsKv;
  const dims: Dims = {
    vocab,
    embd,
    heads,
    headsKv,
    headDim: embd / heads,
    ff: opts.ff ?? DEFAULTS.ff,
    layers: opts.layers ?? DEFAULTS.layers,
    ctx: opts.ctx ?? DEFAULTS.ctx,
  };
  for (const [k, v] of Object.entries(dims)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new Error(`tinyModel: ${k} must be a positive integer, got ${v}`);
  }
  if (dims.headDim % 2 !== 0) throw new Error(`tinyModel: head size embd/heads (${dims.headDim}) must be even for RoPE`);
  if (heads % headsKv !== 0) throw new Error(`tinyModel: heads (${heads}) must be a multiple of headsKv (${headsKv})`);
  return dims;
}

function metadata(d: Dims, vocab: Vocab, opts: TinyModelOptions): Array<[string, GgufValue]> {
  const arch = opts.architecture ?? DEFAULTS.architecture;
  const tensorType = opts.tensorType ?? DEFAULTS.tensorType;
  const chatTemplate = opts.chatTemplate === undefined ? CHATML_TEMPLATE : opts.chatTemplate;
  const kv: Array<[string, GgufValue]> = [
    ["general.architecture", str(arch)],
    ["general.name", str(`tiny-random-${arch}`)],
    ["general.file_type", u32(tensorType === "F16" ? 1 : 0)], // LLAMA_FTYPE_ALL_F32 / MOSTLY_F16
    [`${arch}.context_length`, u32(d.ctx)],
    [`${arch}.embedding_length`, u32(d.embd)],
    [`${arch}.block_count`, u32(d.layers)],
    [`${arch}.feed_forward_length`, u32(d.ff)],
    [`${arch}.attention.head_count`, u32(d.heads)],
    [`${arch}.attention.head_count_kv`, u32(d.headsKv)],
    [`${arch}.attention.layer_norm_rms_epsilon`, f32(1e-5)],
    [`${arch}.rope.dimension_count`, u32(d.headDim)],
    [`${arch}.rope.freq_base`, f32(10000)],
    [`${arch}.vocab_size`, u32(d.vocab)],
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", arr("str", vocab.tokens)],
    ["tokenizer.ggml.scores", arr("f32", vocab.scores)],
    ["tokenizer.ggml.token_type", arr("i32", vocab.types)],
    ["tokenizer.ggml.bos_token_id", u32(TINY_TOKENS.bos)],
    ["tokenizer.ggml.eos_token_id", u32(TINY_TOKENS.eos)],
    ["tokenizer.ggml.unknown_token_id", u32(TINY_TOKENS.unk)],
    ["tokenizer.ggml.eot_token_id", u32(TINY_TOKENS.imEnd)],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
    ["tokenizer.ggml.add_space_prefix", bool(false)],
  ];
  if (chatTemplate !== null) kv.push(["tokenizer.chat_template", str(chatTemplate)]);
  for (const [key, value] of opts.metadataOverrides ?? []) {
    const at = kv.findIndex(([k]) => k === key);
    if (at >= 0) kv[at] = [key, value];
    else kv.push([key, value]);
  }
  return kv;
}

/** Builds the tensor list; matrices are [fan_in, fan_out] in ggml order. */
function tensors(d: Dims, vocab: Vocab, opts: TinyModelOptions): GgufTensor[] {
  const normal = normalSampler(opts.seed ?? DEFAULTS.seed);
  const scale = opts.weightScale ?? DEFAULTS.weightScale;
  const type = opts.tensorType ?? DEFAULTS.tensorType;
  const kvWidth = d.headDim * d.headsKv;

  const random = (name: string, shape: [number, number], std: number): GgufTensor => {
    const data = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < data.length; i++) data[i] = normal() * std * scale;
    return { name, shape, type, data };
  };
  // 1/sqrt(fan_in) keeps activations near unit scale through each projection.
  const matrix = (name: string, fanIn: number, fanOut: number, gain = 1): GgufTensor => random(name, [fanIn, fanOut], gain / Math.sqrt(fanIn));
  // RMS-norm gains near 1; the noise keeps them from being a no-op without changing scale.
  const norm = (name: string): GgufTensor => {
    const data = new Float32Array(d.embd);
    for (let i = 0; i < data.length; i++) data[i] = 1 + 0.05 * normal();
    return { name, shape: [d.embd], type: "F32", data };
  };

  // Embedding rows are looked up, not multiplied, so fan-in scaling does not apply: unit std.
  const out: GgufTensor[] = [random("token_embd.weight", [d.embd, d.vocab], 1)];
  for (let l = 0; l < d.layers; l++) {
    const p = `blk.${l}.`;
    out.push(
      norm(`${p}attn_norm.weight`),
      matrix(`${p}attn_q.weight`, d.embd, d.embd),
      matrix(`${p}attn_k.weight`, d.embd, kvWidth),
      matrix(`${p}attn_v.weight`, d.embd, kvWidth),
      matrix(`${p}attn_output.weight`, d.embd, d.embd),
      norm(`${p}ffn_norm.weight`),
      matrix(`${p}ffn_gate.weight`, d.embd, d.ff),
      matrix(`${p}ffn_up.weight`, d.embd, d.ff),
      matrix(`${p}ffn_down.weight`, d.ff, d.embd),
    );
  }
  const output = matrix("output.weight", d.embd, d.vocab, OUTPUT_GAIN);
  vocab.types.forEach((type, id) => {
    if (type === TokenType.BYTE) scaleRow(output, id, BYTE_OUTPUT_GAIN);
  });
  out.push(norm("output_norm.weight"), output);
  return out;
}

/** Scales the ne0-long row `row` of a 2-D tensor (for output.weight: one token's logit weights). */
function scaleRow(t: GgufTensor, row: number, gain: number): void {
  const width = t.shape[0]!;
  for (let i = row * width; i < (row + 1) * width; i++) t.data[i]! *= gain;
}

/** Encodes a tiny model in memory (same bytes for the same options). */
export function encodeTinyModel(opts: TinyModelOptions = {}): Buffer {
  const vocab = buildVocab();
  const dims = resolveDims(opts, vocab.tokens.length);
  return encodeGguf(metadata(dims, vocab, opts), tensors(dims, vocab, opts));
}

/** Writes a tiny random-weight model to `path`. */
export function makeTinyModel(path: string, opts: TinyModelOptions = {}): void {
  writeFileSync(path, encodeTinyModel(opts));
}

const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".cache");

/**
 * Path of a cached tiny model at test/.cache/<name>.gguf, generated on first
 * use. A sidecar records a fingerprint of the options and of the generator's
 * own source, so reusing a name with different options, or editing the
 * generator, regenerates instead of returning a stale file. Writes go
 * through a rename so concurrent test processes never see a half-written model.
 */
export function tinyModelPath(name: string, opts: TinyModelOptions = {}): string {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`tinyModel: bad cache name "${name}"`);
  const path = join(CACHE_DIR, `${name}.gguf`);
  const keyPath = `${path}.key`;
  const key = fingerprint(opts);
  if (existsSync(path) && existsSync(keyPath) && readFileSync(keyPath, "utf8") === key) return path;

  mkdirSync(CACHE_DIR, { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, encodeTinyModel(opts));
  renameSync(tmp, path);
  writeFileSync(`${keyPath}.${process.pid}.tmp`, key);
  renameSync(`${keyPath}.${process.pid}.tmp`, keyPath);
  return path;
}

function fingerprint(opts: TinyModelOptions): string {
  const hash = createHash("sha256");
  for (const source of generatorSources()) hash.update(source);
  const defined = Object.entries(opts).filter(([, v]) => v !== undefined);
  defined.sort(([a], [b]) => (a < b ? -1 : 1));
  return hash.update(JSON.stringify(defined)).digest("hex");
}

let sourcesCache: Buffer[] | undefined;

/** This module and the GGUF writer, whichever extension they run as (.ts under tsx, .js compiled). */
function generatorSources(): Buffer[] {
  const self = fileURLToPath(import.meta.url);
  const writer = self.replace(/tinyModel(\.[cm]?[jt]s)$/, "gguf$1");
  sourcesCache ??= [self, writer].map((p) => readFileSync(p));
  return sourcesCache;
}
