/**
 * Minimal GGUF v3 writer: typed metadata of every GGUF value type, and F32 / F16 tensors.
 * Writes our vector files (lib/vectors/vectorFile.ts); the tests also use it to synthesize tiny
 * model files (test/helpers/tinyModel.ts) instead of downloading them.
 *
 * Layout written (all little-endian):
 *   header    magic "GGUF", version u32 = 3, tensor count u64, kv count u64
 *   kv pairs  key (gguf string), value type u32, value
 *   infos     name, n_dims u32, dims u64 x n_dims (ne0 first), ggml type u32,
 *             offset u64 (relative to the data section, aligned)
 *   padding   up to `alignment`
 *   data      tensors, each padded up to `alignment`
 * A gguf string is a u64 byte length followed by UTF-8 bytes (no NUL).
 */
import { writeFileSync } from 'node:fs';

// ---------------------------------------------------------------------------
// Metadata values
// ---------------------------------------------------------------------------

/** Element types usable for numeric arrays. */
export type GgufNumericType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'f32' | 'f64';

/** A metadata value with its GGUF type made explicit (JS numbers alone are ambiguous). */
export type GgufValue =
  | { readonly type: Exclude<GgufNumericType, 'u64' | 'i64'>; readonly value: number }
  | { readonly type: 'u64' | 'i64'; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'str'; readonly value: string }
  | { readonly type: 'arr'; readonly elementType: GgufNumericType; readonly values: readonly (number | bigint)[] }
  | { readonly type: 'arr'; readonly elementType: 'bool'; readonly values: readonly boolean[] }
  | { readonly type: 'arr'; readonly elementType: 'str'; readonly values: readonly string[] };

export type GgufMetadata = ReadonlyArray<readonly [key: string, value: GgufValue]> | Readonly<Record<string, GgufValue>>;

export const u8 = (value: number): GgufValue => ({ type: 'u8', value });
export const i8 = (value: number): GgufValue => ({ type: 'i8', value });
export const u16 = (value: number): GgufValue => ({ type: 'u16', value });
export const i16 = (value: number): GgufValue => ({ type: 'i16', value });
export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const i32 = (value: number): GgufValue => ({ type: 'i32', value });
export const u64 = (value: number | bigint): GgufValue => ({ type: 'u64', value: BigInt(value) });
export const i64 = (value: number | bigint): GgufValue => ({ type: 'i64', value: BigInt(value) });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const f64 = (value: number): GgufValue => ({ type: 'f64', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'str', value });

/** Typed array value, e.g. `arr('i32', tokenTypes)`, `arr('str', tokens)`. */
export function arr(elementType: 'str', values: readonly string[]): GgufValue;
export function arr(elementType: 'bool', values: readonly boolean[]): GgufValue;
export function arr(elementType: GgufNumericType, values: readonly (number | bigint)[]): GgufValue;
export function arr(elementType: GgufNumericType | 'bool' | 'str', values: readonly (number | bigint | boolean | string)[]): GgufValue {
  return { type: 'arr', elementType, values } as GgufValue;
}

/** GGUF value type ids (gguf_type in ggml's gguf.h). */
const VALUE_TYPE_ID = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, str: 8, arr: 9, u64: 10, i64: 11, f64: 12,
} as const;

type ScalarType = Exclude<keyof typeof VALUE_TYPE_ID, 'arr'>;

/** Byte width of fixed-size scalars (strings are variable). */
const SCALAR_SIZE: Record<Exclude<ScalarType, 'str'>, number> = {
  u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, u64: 8, i64: 8, f64: 8,
};

/** Inclusive integer ranges; out-of-range values would silently wrap otherwise. */
const INT_RANGE: Partial<Record<ScalarType, readonly [bigint, bigint]>> = {
  u8: [0n, 0xffn], i8: [-0x80n, 0x7fn],
  u16: [0n, 0xffffn], i16: [-0x8000n, 0x7fffn],
  u32: [0n, 0xffffffffn], i32: [-0x80000000n, 0x7fffffffn],
  u64: [0n, 0xffffffffffffffffn], i64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

// ---------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------

export type GgufTensorType = 'F32' | 'F16';

export interface GgufTensor {
  name: string;
  /** ggml order: ne0 (the contiguous, fastest-varying dimension) first. */
  shape: number[];
  /** Storage type in the file; data is always given as f32 and converted. */
  type: GgufTensorType;
  /** Row-major in ggml order: element (i0, i1, ...) at i0 + ne0 * (i1 + ne1 * ...). */
  data: Float32Array;
}

export interface GgufWriteOptions {
  /** Data alignment in bytes (power of two). Written as `general.alignment` when not 32. */
  alignment?: number;
}

/** ggml_type ids and element sizes for the supported tensor types. */
const TENSOR_TYPE = {
  F32: { id: 0, size: 4 },
  F16: { id: 1, size: 2 },
} as const;

const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS / GGML_MAX_NAME (the latter includes the NUL terminator). */
const MAX_DIMS = 4;
const MAX_NAME_BYTES = 63;

// ---------------------------------------------------------------------------
// F16 conversion
// ---------------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * IEEE binary32 -> binary16 bits with round-to-nearest, ties-to-even.
 * Handles signed zero, subnormals (both directions), overflow to infinity and NaN.
 */
export function f32ToF16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp32 = (bits >>> 23) & 0xff;
  const mant32 = bits & 0x7fffff;

  if (exp32 === 0xff) {
    // Keep NaN a (quiet) NaN even when its payload lives only in the dropped low bits.
    return mant32 === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant32 >>> 13);
  }

  const exp16 = exp32 - 127 + 15;
  if (exp16 >= 0x1f) return sign | 0x7c00;

  if (exp16 <= 0) {
    // Result is subnormal (or zero): value / 2^-24 = mant24 * 2^-(14 - exp16).
    if (exp16 < -10) return sign; // below half the smallest subnormal
    return sign | roundShift(mant32 | 0x800000, 14 - exp16);
  }

  // Normal: rounding may carry into the exponent, which is exactly right
  // (including the carry from the largest finite value into infinity).
  return sign | (((exp16 << 10) | (mant32 >>> 13)) + roundIncrement(mant32, 13));
}

/** `x >> shift`, rounded to nearest with ties to even. */
function roundShift(x: number, shift: number): number {
  return (x >>> shift) + roundIncrement(x, shift);
}

/** 1 if dropping the low `shift` bits of `x` must round the kept part up. */
function roundIncrement(x: number, shift: number): number {
  const rest = x & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  const keptIsOdd = (x >>> shift) & 1;
  return rest > half || (rest === half && keptIsOdd === 1) ? 1 : 0;
}

/** binary16 bits -> number (exact); handy for tests comparing against F16 files. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/** Appends little-endian primitives into a growable buffer. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  private pos = 0;

  get length(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  scalar(type: Exclude<ScalarType, 'str'>, value: number | bigint | boolean): void {
    this.reserve(8);
    const b = this.buf;
    const p = this.pos;
    switch (type) {
      case 'u8': b.writeUInt8(value as number, p); break;
      case 'i8': b.writeInt8(value as number, p); break;
      case 'u16': b.writeUInt16LE(value as number, p); break;
      case 'i16': b.writeInt16LE(value as number, p); break;
      case 'u32': b.writeUInt32LE(value as number, p); break;
      case 'i32': b.writeInt32LE(value as number, p); break;
      case 'f32': b.writeFloatLE(value as number, p); break;
      case 'f64': b.writeDoubleLE(value as number, p); break;
      case 'bool': b.writeUInt8(value ? 1 : 0, p); break;
      case 'u64': b.writeBigUInt64LE(BigInt(value as number | bigint), p); break;
      case 'i64': b.writeBigInt64LE(BigInt(value as number | bigint), p); break;
    }
    this.pos += SCALAR_SIZE[type];
  }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.scalar('u64', BigInt(bytes.length));
    this.bytes(bytes);
  }

  bytes(src: Uint8Array): void {
    this.reserve(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  padTo(alignment: number): void {
    const n = padding(this.pos, alignment);
    this.reserve(n);
    this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function padding(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

function metadataEntries(metadata: GgufMetadata): Array<readonly [string, GgufValue]> {
  return Array.isArray(metadata)
    ? [...(metadata as ReadonlyArray<readonly [string, GgufValue]>)]
    : Object.entries(metadata as Readonly<Record<string, GgufValue>>);
}

function checkScalar(key: string, type: ScalarType, value: unknown): void {
  const fail = (why: string): never => {
    throw new TypeError(`gguf: metadata "${key}": ${why} (type ${type}, value ${String(value)})`);
  };
  if (type === 'str') {
    if (typeof value !== 'string') fail('expected a string');
    return;
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') fail('expected a boolean');
    return;
  }
  if (type === 'f32' || type === 'f64') {
    if (typeof value !== 'number') fail('expected a number');
    return;
  }
  if (typeof value !== 'bigint' && !(typeof value === 'number' && Number.isSafeInteger(value))) {
    fail('expected an integer');
  }
  const [lo, hi] = INT_RANGE[type]!;
  const big = BigInt(value as number | bigint);
  if (big < lo || big > hi) fail('out of range');
}

function writeValue(w: ByteWriter, key: string, value: GgufValue): void {
  w.scalar('u32', VALUE_TYPE_ID[value.type]);
  if (value.type === 'arr') {
    w.scalar('u32', VALUE_TYPE_ID[value.elementType]);
    w.scalar('u64', BigInt(value.values.length));
    for (const item of value.values) writeScalar(w, key, value.elementType, item);
  } else {
    writeScalar(w, key, value.type, value.value);
  }
}

function writeScalar(w: ByteWriter, key: string, type: ScalarType, value: number | bigint | boolean | string): void {
  checkScalar(key, type, value);
  if (type === 'str') w.string(value as string);
  else w.scalar(type, value as number | bigint | boolean);
}

/** Resolves the alignment from options and/or `general.alignment`, which must agree. */
function resolveAlignment(entries: Array<readonly [string, GgufValue]>, opts: GgufWriteOptions): number {
  const fromMeta = entries.find(([k]) => k === 'general.alignment')?.[1];
  if (fromMeta && fromMeta.type !== 'u32') throw new TypeError('gguf: general.alignment must be a u32');
  const metaAlignment = fromMeta ? (fromMeta.value as number) : undefined;
  if (opts.alignment !== undefined && metaAlignment !== undefined && opts.alignment !== metaAlignment) {
    throw new Error(`gguf: alignment option ${opts.alignment} contradicts general.alignment ${metaAlignment}`);
  }
  const alignment = opts.alignment ?? metaAlignment ?? DEFAULT_ALIGNMENT;
  // ggml rejects alignments that are zero or not powers of two.
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new Error(`gguf: alignment must be a power of two, got ${alignment}`);
  }
  return alignment;
}

function checkTensor(t: GgufTensor, seen: Set<string>): void {
  const where = `gguf: tensor "${t.name}"`;
  if (seen.has(t.name)) throw new Error(`${where}: duplicate name`);
  seen.add(t.name);
  if (Buffer.byteLength(t.name, 'utf8') > MAX_NAME_BYTES) throw new Error(`${where}: name longer than ${MAX_NAME_BYTES} bytes`);
  if (!(t.type in TENSOR_TYPE)) throw new Error(`${where}: unsupported type ${String(t.type)}`);
  if (t.shape.length < 1 || t.shape.length > MAX_DIMS) throw new Error(`${where}: needs 1..${MAX_DIMS} dims`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d > 0)) throw new Error(`${where}: bad shape [${t.shape.join(', ')}]`);
  const count = elementCount(t.shape);
  if (t.data.length !== count) throw new Error(`${where}: data has ${t.data.length} elements, shape needs ${count}`);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function tensorBytes(t: GgufTensor): Uint8Array {
  if (t.type === 'F32') {
    // Copy so the result is little-endian-correct and independent of the caller's buffer offset.
    const out = Buffer.alloc(t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, i * 4);
    return out;
  }
  const out = Buffer.alloc(t.data.length * 2);
  for (let i = 0; i < t.data.length; i++) out.writeUInt16LE(f32ToF16Bits(t.data[i]!), i * 2);
  return out;
}

/** Encodes a complete GGUF v3 file in memory. */
export function encodeGguf(metadata: GgufMetadata, tensors: readonly GgufTensor[], opts: GgufWriteOptions = {}): Buffer {
  const entries = metadataEntries(metadata);
  const keys = new Set<string>();
  for (const [key] of entries) {
    if (keys.has(key)) throw new Error(`gguf: duplicate metadata key "${key}"`);
    keys.add(key);
  }
  const alignment = resolveAlignment(entries, opts);
  // Readers only learn a non-default alignment from the metadata, so add it when missing.
  if (alignment !== DEFAULT_ALIGNMENT && !keys.has('general.alignment')) {
    entries.push(['general.alignment', u32(alignment)]);
  }
  const seen = new Set<string>();
  for (const t of tensors) checkTensor(t, seen);

  const w = new ByteWriter();
  w.bytes(Buffer.from('GGUF', 'ascii'));
  w.scalar('u32', 3);
  w.scalar('u64', BigInt(tensors.length));
  w.scalar('u64', BigInt(entries.length));

  for (const [key, value] of entries) {
    w.string(key);
    writeValue(w, key, value);
  }

  const payloads = tensors.map(tensorBytes);
  let offset = 0;
  tensors.forEach((t, i) => {
    w.string(t.name);
    w.scalar('u32', t.shape.length);
    for (const d of t.shape) w.scalar('u64', BigInt(d));
    w.scalar('u32', TENSOR_TYPE[t.type].id);
    w.scalar('u64', BigInt(offset));
    offset += payloads[i]!.length + padding(payloads[i]!.length, alignment);
  });

  w.padTo(alignment);
  for (const p of payloads) {
    w.bytes(p);
    w.padTo(alignment);
  }
  return w.finish();
}

/** Writes a GGUF v3 file; see encodeGguf. */
export function writeGguf(path: string, metadata: GgufMetadata, tensors: readonly GgufTensor[], opts: GgufWriteOptions = {}): void {
  writeFileSync(path, encodeGguf(metadata, tensors, opts));
}
