// A growable buffer that appends GGUF's little-endian primitives: the one place the writer turns
// values into bytes, so encodeGguf reads as the file layout it writes.
import { SCALAR_SIZE, type GgufScalarType } from "./metadataValues.js";

/** Zero bytes needed after `offset` to reach the next multiple of `alignment`. */
export function padding(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

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
    const b = this.buf;
    const p = this.pos;
    switch (type) {
      case "u8":
        b.writeUInt8(value as number, p);
        break;
      case "i8":
        b.writeInt8(value as number, p);
        break;
      case "u16":
        b.writeUInt16LE(value as number, p);
        break;
      case "i16":
        b.writeInt16LE(value as number, p);
        break;
      case "u32":
        b.writeUInt32LE(value as number, p);
        break;
      case "i32":
        b.writeInt32LE(value as number, p);
        break;
      case "f32":
        b.writeFloatLE(value as number, p);
        break;
      case "f64":
        b.writeDoubleLE(value as number, p);
        break;
      case "bool":
        b.writeUInt8(value ? 1 : 0, p);
        break;
      case "u64":
        b.writeBigUInt64LE(BigInt(value as number | bigint), p);
        break;
      case "i64":
        b.writeBigInt64LE(BigInt(value as number | bigint), p);
        break;
    }
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
