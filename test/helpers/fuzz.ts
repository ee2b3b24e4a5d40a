/**
 * Fault injection for the file loaders: seeded, structure-aware mutators of GGUF files.
 *
 * A mutation overwrites one field in place (a header count, a metadata value or its type tag, a
 * string or array length, an array element, a tensor's dimension, type or offset, weight bytes)
 * with a value chosen to break assumptions (0, 1, -1, type maxima, NaN, infinity, huge sizes), or
 * truncates the file, or flips random bytes. Overwriting in place keeps every other offset valid,
 * so the loader gets past the damaged field and meets its consequences. The same (file, seed,
 * case) always gives the same bytes, so a failure can be replayed.
 */

import { mulberry32 } from "./tinyModel.js";

/** A seeded PRNG, uniform in [0, 1): the tiny models' generator. */
export const prng = mulberry32;

/** The generator of case `index` of a run: independent of every other case. */
export function caseRandom(seed: number, index: number): () => number {
  return prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

type Random = () => number;
const pick = <T>(rand: Random, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const below = (rand: Random, n: number): number => Math.floor(rand() * n);

// GGUF value types (gguf.h).
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
const WIDTH: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Where a metadata entry's parts lie in the file. */
interface KvLayout {
  key: string;
  keyOffset: number;
  typeOffset: number;
  type: number;
  /** Scalar value (numeric or bool), or a string's length field, or an array's element type field. */
  valueOffset: number;
  elementType?: number;
  countOffset?: number;
  count?: number;
  /** Offsets of array elements (numeric: the value; string: its length field); at most 4096 kept. */
  elements?: number[];
}

interface TensorLayout {
  name: string;
  nDimsOffset: number;
  dimOffsets: number[];
  typeOffset: number;
  offsetOffset: number;
}

export interface GgufLayout {
  kvs: KvLayout[];
  tensors: TensorLayout[];
  /** End of the metadata section (start of the tensor infos). */
  metadataEnd: number;
  /** Start of the tensor data section. */
  dataOffset: number;
}

/** Maps an intact GGUF file's fields to their offsets. */
export function ggufLayout(buf: Buffer): GgufLayout {
  let at = 24;
  const u64 = () => {
    const v = Number(buf.readBigUInt64LE(at));
    at += 8;
    return v;
  };
  const u32 = () => {
    const v = buf.readUInt32LE(at);
    at += 4;
    return v;
  };
  const skipString = () => {
    const n = u64();
    at += n;
  };
  const readString = () => {
    const n = u64();
    const s = buf.toString("utf8", at, at + n);
    at += n;
    return s;
  };
  const tensorCount = Number(buf.readBigUInt64LE(8));
  const kvCount = Number(buf.readBigUInt64LE(16));
  const kvs: KvLayout[] = [];
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const keyOffset = at;
    const key = readString();
    const typeOffset = at;
    const type = u32();
    const kv: KvLayout = { key, keyOffset, typeOffset, type, valueOffset: at };
    if (type === T.STRING) skipString();
    else if (type === T.ARRAY) {
      const elementType = u32();
      kv.elementType = elementType;
      kv.countOffset = at;
      const count = u64();
      kv.count = count;
      kv.elements = [];
      for (let e = 0; e < count; e++) {
        if (e < 4096) kv.elements.push(at);
        if (elementType === T.STRING) skipString();
        else at += WIDTH[elementType]!;
      }
    } else {
      if (key === "general.alignment") alignment = buf.readUInt32LE(at);
      at += WIDTH[type]!;
    }
    kvs.push(kv);
  }
  const metadataEnd = at;
  const tensors: TensorLayout[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = readString();
    const nDimsOffset = at;
    const nDims = u32();
    const dimOffsets: number[] = [];
    for (let d = 0; d < nDims; d++) {
      dimOffsets.push(at);
      at += 8;
    }
    const typeOffset = at;
    at += 4;
    const offsetOffset = at;
    at += 8;
    tensors.push({ name, nDimsOffset, dimOffsets, typeOffset, offsetOffset });
  }
  const dataOffset = Math.ceil(at / alignment) * alignment;
  return { kvs, tensors, metadataEnd, dataOffset };
}

/**
 * A model file's header and metadata without its tensors: what llama.cpp reads for a
 * vocabulary-only load (a real model's tokenizer, at a few MB instead of hundreds).
 */
export function metadataOnly(buf: Buffer): Buffer {
  const end = ggufLayout(buf).metadataEnd;
  const out = Buffer.alloc(Math.ceil(end / 32) * 32);
  buf.copy(out, 0, 0, end);
  out.writeBigUInt64LE(0n, 8);
  return out;
}

const U32_VALUES = [0, 1, 2, 3, 7, 64, 65, 0x7fff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const U64_VALUES = [0n, 1n, 2n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 40n, 0x7fffffffffffffffn, 0xffffffffffffffffn];
const F_VALUES = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e30, -1e30, 3.4e38, 1e-45, 1e-7, 65504, 2 ** 24];

/** Overwrites the `width`-byte field at `offset` with a value meant to break assumptions. */
function writeNasty(buf: Buffer, offset: number, type: number, rand: Random): string {
  if (offset + (WIDTH[type] ?? 8) > buf.length) return "beyond the end";
  const random = rand() < 0.2;
  switch (type) {
    case T.U8:
    case T.I8:
    case T.BOOL: {
      const v = random ? below(rand, 256) : pick(rand, [0, 1, 2, 0x7f, 0x80, 0xff]);
      buf.writeUInt8(v, offset);
      return String(v);
    }
    case T.U16:
    case T.I16: {
      const v = random ? below(rand, 65536) : pick(rand, [0, 1, 0x7fff, 0x8000, 0xffff]);
      buf.writeUInt16LE(v, offset);
      return String(v);
    }
    case T.U32:
    case T.I32: {
      const v = random ? below(rand, 2 ** 32) : pick(rand, U32_VALUES);
      buf.writeUInt32LE(v, offset);
      return String(v);
    }
    case T.F32: {
      const v = pick(rand, F_VALUES);
      buf.writeFloatLE(v, offset);
      return String(v);
    }
    case T.F64: {
      const v = pick(rand, F_VALUES);
      buf.writeDoubleLE(v, offset);
      return String(v);
    }
    default: {
      const v = random ? BigInt(below(rand, 2 ** 32)) * BigInt(below(rand, 2 ** 32)) : pick(rand, U64_VALUES);
      buf.writeBigUInt64LE(v, offset);
      return String(v);
    }
  }
}

export interface Mutation {
  bytes: Buffer;
  /** What was changed, for the report. */
  what: string;
}

/**
 * One case of a seeded run over `base`: one to three in-place mutations, or a truncation.
 */
export function mutateGguf(base: Buffer, layout: GgufLayout, rand: Random): Mutation {
  const bytes = Buffer.from(base);
  const rounds = 1 + (rand() < 0.3 ? below(rand, 3) : 0);
  const what: string[] = [];
  for (let r = 0; r < rounds; r++) {
    const kind = pick(rand, [
      "header",
      "kv-value",
      "kv-value",
      "kv-value",
      "kv-type",
      "kv-length",
      "kv-element",
      "kv-element",
      "key",
      "tensor-dim",
      "tensor-ndims",
      "tensor-type",
      "tensor-offset",
      "weights",
      "flip",
      "truncate",
    ] as const);
    const kv = layout.kvs.length > 0 ? pick(rand, layout.kvs) : undefined;
    const tensor = layout.tensors.length > 0 ? pick(rand, layout.tensors) : undefined;
    switch (kind) {
      case "header": {
        const field = pick(rand, [
          [4, T.U32, "version"],
          [8, T.U64, "tensor_count"],
          [16, T.U64, "kv_count"],
        ] as const);
        what.push(`header ${field[2]} = ${writeNasty(bytes, field[0], field[1], rand)}`);
        break;
      }
      case "kv-value": {
        if (!kv) break;
        if (kv.type === T.STRING) {
          // A string value: damage its text (invalid UTF-8, NUL, emptied by a zero length elsewhere).
          const length = Number(bytes.readBigUInt64LE(kv.valueOffset));
          if (length > 0) bytes[kv.valueOffset + 8 + below(rand, length)] = pick(rand, [0, 0xff, 0xc3, 0x7b, 0x25]);
          what.push(`${kv.key} string byte`);
        } else if (kv.type === T.ARRAY) {
          what.push(`${kv.key} element type = ${writeNasty(bytes, kv.valueOffset, T.U32, rand)}`);
        } else {
          what.push(`${kv.key} = ${writeNasty(bytes, kv.valueOffset, kv.type, rand)}`);
        }
        break;
      }
      case "kv-type":
        if (!kv) break;
        what.push(`${kv.key} type = ${writeNasty(bytes, kv.typeOffset, T.U32, rand)}`);
        break;
      case "kv-length":
        if (!kv) break;
        if (kv.type === T.STRING) what.push(`${kv.key} string length = ${writeNasty(bytes, kv.valueOffset, T.U64, rand)}`);
        else if (kv.countOffset !== undefined) what.push(`${kv.key} array count = ${writeNasty(bytes, kv.countOffset, T.U64, rand)}`);
        else what.push(`key length of ${kv.key} = ${writeNasty(bytes, kv.keyOffset, T.U64, rand)}`);
        break;
      case "kv-element": {
        const arrays = layout.kvs.filter((k) => k.elements && k.elements.length > 0);
        if (arrays.length === 0) break;
        const a = pick(rand, arrays);
        const e = below(rand, a.elements!.length);
        const at = a.elements![e]!;
        if (a.elementType === T.STRING) {
          const length = Number(bytes.readBigUInt64LE(at));
          if (rand() < 0.5 || length === 0) what.push(`${a.key}[${e}] length = ${writeNasty(bytes, at, T.U64, rand)}`);
          else {
            bytes[at + 8 + below(rand, length)] = pick(rand, [0, 0xff, 0x80, 0x20]);
            what.push(`${a.key}[${e}] byte`);
          }
        } else {
          what.push(`${a.key}[${e}] = ${writeNasty(bytes, at, a.elementType!, rand)}`);
        }
        break;
      }
      case "key": {
        if (!kv) break;
        const length = Number(bytes.readBigUInt64LE(kv.keyOffset));
        if (length > 0) bytes[kv.keyOffset + 8 + below(rand, length)] = pick(rand, [0x78, 0x2e, 0, 0xff]);
        what.push(`key ${kv.key} byte`);
        break;
      }
      case "tensor-dim":
        if (!tensor || tensor.dimOffsets.length === 0) break;
        what.push(`${tensor.name} dim = ${writeNasty(bytes, pick(rand, tensor.dimOffsets), T.U64, rand)}`);
        break;
      case "tensor-ndims":
        if (!tensor) break;
        what.push(`${tensor.name} n_dims = ${writeNasty(bytes, tensor.nDimsOffset, T.U32, rand)}`);
        break;
      case "tensor-type": {
        if (!tensor) break;
        const v = rand() < 0.7 ? below(rand, 45) : below(rand, 2 ** 32);
        bytes.writeUInt32LE(v, tensor.typeOffset);
        what.push(`${tensor.name} type = ${v}`);
        break;
      }
      case "tensor-offset": {
        if (!tensor) break;
        if (rand() < 0.5) {
          const v = BigInt(below(rand, bytes.length));
          bytes.writeBigUInt64LE(v, tensor.offsetOffset);
          what.push(`${tensor.name} offset = ${v}`);
        } else {
          what.push(`${tensor.name} offset = ${writeNasty(bytes, tensor.offsetOffset, T.U64, rand)}`);
        }
        break;
      }
      case "weights": {
        if (layout.dataOffset >= bytes.length) break;
        const n = 1 + below(rand, 64);
        const value = pick(rand, [NaN, Infinity, -Infinity, 3.4e38, 1e30]);
        for (let i = 0; i < n; i++) {
          const at = layout.dataOffset + 4 * below(rand, Math.floor((bytes.length - layout.dataOffset) / 4));
          bytes.writeFloatLE(value, at);
        }
        what.push(`${n} weights = ${value}`);
        break;
      }
      case "flip": {
        const n = 1 + below(rand, 8);
        const end = rand() < 0.8 ? Math.min(layout.dataOffset, bytes.length) : bytes.length;
        for (let i = 0; i < n; i++) bytes[below(rand, end)] = below(rand, 256);
        what.push(`${n} random bytes`);
        break;
      }
      case "truncate": {
        const end = rand() < 0.7 ? below(rand, Math.min(layout.dataOffset + 64, bytes.length)) : below(rand, bytes.length);
        return { bytes: bytes.subarray(0, end), what: [...what, `truncated at ${end} of ${bytes.length}`].join("; ") };
      }
    }
  }
  return { bytes, what: what.join("; ") || "unchanged" };
}
