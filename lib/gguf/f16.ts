// IEEE binary16 (GGML_TYPE_F16) conversion for F16 tensors: f32 -> f16 bits rounds to nearest with
// ties to even, as ggml's own conversion does, so files we write hold what llama.cpp would have.

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
