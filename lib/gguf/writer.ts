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
 *
 * Metadata values and their checks are metadataValues.ts, F16 conversion f16.ts, the byte-level
 * appends byteWriter.ts; this module checks the tensors and lays the file out.
 */
import { writeFileSync } from "node:fs";
import { ByteWriter, padding } from "./byteWriter.js";
import { f32ToF16Bits } from "./f16.js";
import { checkScalar, u32, VALUE_TYPE_ID, type GgufMetadata, type GgufScalarType, type GgufValue } from "./metadataValues.js";

export { arr, bool, f32, f64, i16, i32, i64, i8, str, u16, u32, u64, u8, type GgufMetadata, type GgufNumericType, type GgufValue } from "./metadataValues.js";
export { f16BitsToF32, f32ToF16Bits } from "./f16.js";

export type GgufTensorType = "F32" | "F16";

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

type MetadataEntry = readonly [string, GgufValue];

/** Encodes a complete GGUF v3 file in memory. */
export function encodeGguf(metadata: GgufMetadata, tensors: readonly GgufTensor[], opts: GgufWriteOptions = {}): Buffer {
  const { entries, alignment } = checkedMetadata(metadata, opts);
  const seen = new Set<string>();
  for (const t of tensors) checkTensor(t, seen);

  const w = new ByteWriter();
  w.bytes(Buffer.from("GGUF", "ascii"));
  w.scalar("u32", 3);
  w.scalar("u64", BigInt(tensors.length));
  w.scalar("u64", BigInt(entries.length));
  for (const [key, value] of entries) {
    w.string(key);
    writeValue(w, key, value);
  }
  const payloads = tensors.map(tensorBytes);
  writeTensorInfos(w, tensors, payloads, alignment);
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

/** The entries to write (keys unique, `general.alignment` added when not the default) and the alignment. */
function checkedMetadata(metadata: GgufMetadata, opts: GgufWriteOptions): { entries: MetadataEntry[]; alignment: number } {
  const entries = metadataEntries(metadata);
  const keys = new Set<string>();
  for (const [key] of entries) {
    if (keys.has(key)) throw new Error(`gguf: duplicate metadata key "${key}"`);
    keys.add(key);
  }
  const alignment = resolveAlignment(entries, opts);
  // Readers only learn a non-default alignment from the metadata, so add it when missing.
  if (alignment !== DEFAULT_ALIGNMENT && !keys.has("general.alignment")) {
    entries.push(["general.alignment", u32(alignment)]);
  }
  return { entries, alignment };
}

function metadataEntries(metadata: GgufMetadata): MetadataEntry[] {
  return Array.isArray(metadata) ? [...(metadata as ReadonlyArray<MetadataEntry>)] : Object.entries(metadata as Readonly<Record<string, GgufValue>>);
}

/** Resolves the alignment from options and/or `general.alignment`, which must agree. */
function resolveAlignment(entries: readonly MetadataEntry[], opts: GgufWriteOptions): number {
  const fromMeta = entries.find(([k]) => k === "general.alignment")?.[1];
  if (fromMeta && fromMeta.type !== "u32") throw new TypeError("gguf: general.alignment must be a u32");
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

function writeValue(w: ByteWriter, key: string, value: GgufValue): void {
  w.scalar("u32", VALUE_TYPE_ID[value.type]);
  if (value.type === "arr") {
    w.scalar("u32", VALUE_TYPE_ID[value.elementType]);
    w.scalar("u64", BigInt(value.values.length));
    for (const item of value.values) writeScalar(w, key, value.elementType, item);
  } else {
    writeScalar(w, key, value.type, value.value);
  }
}

function writeScalar(w: ByteWriter, key: string, type: GgufScalarType, value: number | bigint | boolean | string): void {
  checkScalar(key, type, value);
  if (type === "str") w.string(value as string);
  else w.scalar(type, value as number | bigint | boolean);
}

function checkTensor(t: GgufTensor, seen: Set<string>): void {
  const where = `gguf: tensor "${t.name}"`;
  if (seen.has(t.name)) throw new Error(`${where}: duplicate name`);
  seen.add(t.name);
  if (Buffer.byteLength(t.name, "utf8") > MAX_NAME_BYTES) throw new Error(`${where}: name longer than ${MAX_NAME_BYTES} bytes`);
  if (!(t.type in TENSOR_TYPE)) throw new Error(`${where}: unsupported type ${String(t.type)}`);
  if (t.shape.length < 1 || t.shape.length > MAX_DIMS) throw new Error(`${where}: needs 1..${MAX_DIMS} dims`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d > 0)) throw new Error(`${where}: bad shape [${t.shape.join(", ")}]`);
  const count = elementCount(t.shape);
  if (t.data.length !== count) throw new Error(`${where}: data has ${t.data.length} elements, shape needs ${count}`);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A tensor's data as stored: little-endian F32, or F16 rounded to nearest even. */
function tensorBytes(t: GgufTensor): Uint8Array {
  if (t.type === "F32") {
    // Copy so the result is little-endian-correct and independent of the caller's buffer offset.
    const out = Buffer.alloc(t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i]!, i * 4);
    return out;
  }
  const out = Buffer.alloc(t.data.length * 2);
  for (let i = 0; i < t.data.length; i++) out.writeUInt16LE(f32ToF16Bits(t.data[i]!), i * 2);
  return out;
}

/** One info record a tensor; each offset is relative to the data section, every payload padded to `alignment`. */
function writeTensorInfos(w: ByteWriter, tensors: readonly GgufTensor[], payloads: readonly Uint8Array[], alignment: number): void {
  let offset = 0;
  tensors.forEach((t, i) => {
    w.string(t.name);
    w.scalar("u32", t.shape.length);
    for (const d of t.shape) w.scalar("u64", BigInt(d));
    w.scalar("u32", TENSOR_TYPE[t.type].id);
    w.scalar("u64", BigInt(offset));
    offset += payloads[i]!.length + padding(payloads[i]!.length, alignment);
  });
}
