// A GGUF v2/v3 reader for our own files (vector files): all metadata value types, and F32
// tensors. Every read is bounds-checked, so a truncated or corrupt file gives a clear error.
import { readFileSync } from "node:fs";

export type GgufReadValue = number | bigint | boolean | string | GgufReadValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: ne0 first. */
  shape: number[];
  /** ggml type id (0 = F32, 1 = F16, ...). */
  type: number;
  /** Absolute byte offset of the data in the file. */
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufReadValue>;
  /** GGUF value type id of each metadata value (and of array elements), so a file can be rewritten as it was. */
  metadataTypes: Map<string, { type: number; elementType?: number }>;
  tensors: GgufTensorInfo[];
  /** Reads an F32 tensor's values. */
  readF32(name: string): Float32Array;
}

export class GgufFormatError extends Error {
  override name = "GgufFormatError";
}

class Cursor {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number): void {
    if (this.offset + n > this.buf.length) throw new GgufFormatError(`truncated file: needs ${n} bytes at offset ${this.offset} of ${this.buf.length}`);
  }
  u8() {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }
  i8() {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }
  u16() {
    this.need(2);
    const v = this.buf.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  i16() {
    this.need(2);
    const v = this.buf.readInt16LE(this.offset);
    this.offset += 2;
    return v;
  }
  u32() {
    this.need(4);
    const v = this.buf.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  i32() {
    this.need(4);
    const v = this.buf.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  f32() {
    this.need(4);
    const v = this.buf.readFloatLE(this.offset);
    this.offset += 4;
    return v;
  }
  f64() {
    this.need(8);
    const v = this.buf.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }
  u64() {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  i64() {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  /** A u64 that must be a sane count or size. */
  size(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.buf.length)) throw new GgufFormatError(`implausible ${what} ${v}`);
    return Number(v);
  }
  str() {
    const n = this.size("string length");
    this.need(n);
    const s = this.buf.toString("utf8", this.offset, this.offset + n);
    this.offset += n;
    return s;
  }
}

function readValue(c: Cursor, type: number): GgufReadValue {
  switch (type) {
    case 0:
      return c.u8();
    case 1:
      return c.i8();
    case 2:
      return c.u16();
    case 3:
      return c.i16();
    case 4:
      return c.u32();
    case 5:
      return c.i32();
    case 6:
      return c.f32();
    case 7:
      return c.u8() !== 0;
    case 8:
      return c.str();
    case 9: {
      const elementType = c.u32();
      const n = c.size("array length");
      const out: GgufReadValue[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, elementType);
      return out;
    }
    case 10:
      return c.u64();
    case 11:
      return c.i64();
    case 12:
      return c.f64();
    default:
      throw new GgufFormatError(`unknown metadata value type ${type}`);
  }
}

export function parseGguf(buf: Buffer): GgufFile {
  const c = new Cursor(buf);
  c.need(4);
  if (buf.toString("latin1", 0, 4) !== "GGUF") throw new GgufFormatError("not a GGUF file (bad magic)");
  c.offset = 4;
  const version = c.u32();
  if (version !== 2 && version !== 3) throw new GgufFormatError(`unsupported GGUF version ${version}`);
  const tensorCount = c.size("tensor count");
  const kvCount = c.size("metadata count");
  const metadata = new Map<string, GgufReadValue>();
  const metadataTypes = new Map<string, { type: number; elementType?: number }>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str();
    const type = c.u32();
    // The element type of an array is its first u32; peek at it before readValue consumes it.
    if (type === 9) {
      c.need(4);
      metadataTypes.set(key, { type, elementType: buf.readUInt32LE(c.offset) });
    } else {
      metadataTypes.set(key, { type });
    }
    metadata.set(key, readValue(c, type));
  }
  const infos: Array<Omit<GgufTensorInfo, "offset"> & { relative: number }> = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str();
    const dims = c.u32();
    if (dims > 4) throw new GgufFormatError(`tensor ${name} has ${dims} dimensions`);
    const shape: number[] = [];
    for (let d = 0; d < dims; d++) shape.push(c.size("dimension"));
    const type = c.u32();
    infos.push({ name, shape, type, relative: c.size("tensor offset") });
  }
  const alignmentValue = metadata.get("general.alignment");
  const alignment = typeof alignmentValue === "number" ? alignmentValue : 32;
  const dataStart = Math.ceil(c.offset / alignment) * alignment;
  const tensors = infos.map(({ relative, ...t }) => ({ ...t, offset: dataStart + relative }));
  const byName = new Map(tensors.map((t) => [t.name, t]));
  return {
    version,
    metadata,
    metadataTypes,
    tensors,
    readF32(name: string): Float32Array {
      const t = byName.get(name);
      if (!t) throw new GgufFormatError(`no tensor named ${name}`);
      if (t.type !== 0) throw new GgufFormatError(`tensor ${name} is not F32 (type ${t.type})`);
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (t.offset + n * 4 > buf.length) throw new GgufFormatError(`tensor ${name} data lies beyond the end of the file`);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(t.offset + i * 4);
      return out;
    },
  };
}

export function readGguf(path: string): GgufFile {
  return parseGguf(readFileSync(path));
}
