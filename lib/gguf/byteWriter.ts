// A growable buffer that appends GGUF's little-endian primitives: the one place the writer turns
// values into bytes, so encodeGguf reads as the file layout it writes.
import { SCALAR_SIZE, type GgufScalarType } from "./metadataValues.js";

/** Zero bytes needed after `offset` to reach the next multiple of `alignment`. */
export function padding(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

type ScalarWrite = (b: Buffer, value: number | bigint | boolean, at: number) => void;

/** How each GGUF scalar type is written, little-endian. */
const WRITE_SCALAR: Record<Exclude<GgufScalarType, "str">, ScalarWrite> = {
  u8: (b, v, at) => b.writeUInt8(v as number, at),
  i8: (b, v, at) => b.writeInt8(v as number, at),
  u16: (b, v, at) => b.writeUInt16LE(v as number, at),
  i16: (b, v, at) => b.writeInt16LE(v as number, at),
  u32: (b, v, at) => b.writeUInt32LE(v as number, at),
  i32: (b, v, at) => b.writeInt32LE(v as number, at),
  f32: (b, v, at) => b.writeFloatLE(v as number, at),
  f64: (b, v, at) => b.writeDoubleLE(v as number, at),
  bool: (b, v, at) => b.writeUInt8(v ? 1 : 0, at),
  u64: (b, v, at) => b.writeBigUInt64LE(BigInt(v as number | bigint), at),
  i64: (b, v, at) => b.writeBigInt64LE(BigInt(v as number | bigint), at),
};

/** Appends little-endian primitives into a growable buffer. */
export class ByteWriter {
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

  scalar(type: Exclude<GgufScalarType, "str">, value: number | bigint | boolean): void {
    this.reserve(8);
    WRITE_SCALAR[type](this.buf, value, this.pos);
    this.pos += SCALAR_SIZE[type];
  }

  /** A gguf string: u64 byte length, then the UTF-8 bytes (no NUL). */
  string(s: string): void {
    const bytes = Buffer.from(s, "utf8");
    this.scalar("u64", BigInt(bytes.length));
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
