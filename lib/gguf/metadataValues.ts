// GGUF metadata values with their type made explicit (a JS number alone does not say whether it is
// a u8 or an f64), the constructors that build them, and the checks a value must pass before it is
// encoded: GGUF has no way to say "this integer did not fit", so an out-of-range value would
// silently wrap if it were written.

/** Element types usable for numeric arrays. */
export type GgufNumericType = "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "u64" | "i64" | "f32" | "f64";

/** A metadata value with its GGUF type made explicit (JS numbers alone are ambiguous). */
export type GgufValue =
  | { readonly type: Exclude<GgufNumericType, "u64" | "i64">; readonly value: number }
  | { readonly type: "u64" | "i64"; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "str"; readonly value: string }
  | { readonly type: "arr"; readonly elementType: GgufNumericType; readonly values: readonly (number | bigint)[] }
  | { readonly type: "arr"; readonly elementType: "bool"; readonly values: readonly boolean[] }
  | { readonly type: "arr"; readonly elementType: "str"; readonly values: readonly string[] };

export type GgufMetadata = ReadonlyArray<readonly [key: string, value: GgufValue]> | Readonly<Record<string, GgufValue>>;

export const u8 = (value: number): GgufValue => ({ type: "u8", value });
export const i8 = (value: number): GgufValue => ({ type: "i8", value });
export const u16 = (value: number): GgufValue => ({ type: "u16", value });
export const i16 = (value: number): GgufValue => ({ type: "i16", value });
export const u32 = (value: number): GgufValue => ({ type: "u32", value });
export const i32 = (value: number): GgufValue => ({ type: "i32", value });
export const u64 = (value: number | bigint): GgufValue => ({ type: "u64", value: BigInt(value) });
export const i64 = (value: number | bigint): GgufValue => ({ type: "i64", value: BigInt(value) });
export const f32 = (value: number): GgufValue => ({ type: "f32", value });
export const f64 = (value: number): GgufValue => ({ type: "f64", value });
export const bool = (value: boolean): GgufValue => ({ type: "bool", value });
export const str = (value: string): GgufValue => ({ type: "str", value });

/** Typed array value, e.g. `arr('i32', tokenTypes)`, `arr('str', tokens)`. */
export function arr(elementType: "str", values: readonly string[]): GgufValue;
export function arr(elementType: "bool", values: readonly boolean[]): GgufValue;
export function arr(elementType: GgufNumericType, values: readonly (number | bigint)[]): GgufValue;
export function arr(elementType: GgufNumericType | "bool" | "str", values: readonly (number | bigint | boolean | string)[]): GgufValue {
  return { type: "arr", elementType, values } as GgufValue;
}

/** GGUF value type ids (gguf_type in ggml's gguf.h). */
export const VALUE_TYPE_ID = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  str: 8,
  arr: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

export type GgufValueTypeName = keyof typeof VALUE_TYPE_ID;
export type GgufScalarType = Exclude<GgufValueTypeName, "arr">;

/** The name of a GGUF value type id (undefined for an id GGUF does not define). */
export function valueTypeName(id: number): GgufValueTypeName | undefined {
  return (Object.keys(VALUE_TYPE_ID) as GgufValueTypeName[]).find((name) => VALUE_TYPE_ID[name] === id);
}

/** Byte width of fixed-size scalars (strings are variable). */
export const SCALAR_SIZE: Record<Exclude<GgufScalarType, "str">, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  bool: 1,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** Inclusive integer ranges; out-of-range values would silently wrap otherwise. */
const INT_RANGE: Partial<Record<GgufScalarType, readonly [bigint, bigint]>> = {
  u8: [0n, 0xffn],
  i8: [-0x80n, 0x7fn],
  u16: [0n, 0xffffn],
  i16: [-0x8000n, 0x7fffn],
  u32: [0n, 0xffffffffn],
  i32: [-0x80000000n, 0x7fffffffn],
  u64: [0n, 0xffffffffffffffffn],
  i64: [-0x8000000000000000n, 0x7fffffffffffffffn],
};

/** Throws a TypeError naming `key` when `value` is not a valid `type` (wrong kind, not an integer, out of range). */
export function checkScalar(key: string, type: GgufScalarType, value: unknown): void {
  const fail = (why: string): never => {
    throw new TypeError(`gguf: metadata "${key}": ${why} (type ${type}, value ${String(value)})`);
  };
  if (type === "str") {
    if (typeof value !== "string") fail("expected a string");
    return;
  }
  if (type === "bool") {
    if (typeof value !== "boolean") fail("expected a boolean");
    return;
  }
  if (type === "f32" || type === "f64") {
    if (typeof value !== "number") fail("expected a number");
    return;
  }
  if (typeof value !== "bigint" && !(typeof value === "number" && Number.isSafeInteger(value))) {
    fail("expected an integer");
  }
  const [lo, hi] = INT_RANGE[type]!;
  const big = BigInt(value as number | bigint);
  if (big < lo || big > hi) fail("out of range");
}
