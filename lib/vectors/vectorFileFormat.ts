// What a vector file holds once read (the types), the format version, and typed reads of its GGUF
// metadata that fail with ERR_VECTOR_FILE naming the file and the key. Shared by the encoder
// (encodeVectorFile.ts) and the decoder (decodeVectorFile.ts).
import { LlamaError } from "../errors.js";
import type { GgufReadValue } from "../gguf/reader.js";
import type { SafetyVectors, SourceModel } from "./extract.js";
import type { ScoreKind } from "../vocabulary.js";
import type { GateDirectionKind } from "./safetyVectors.js";

/**
 * Version 1: the gate reads the last prompt token. Version 2 adds a pooled gate (gate.pool_tokens,
 * gate.directions); a file whose gate reads the last token is still written as version 1, so that
 * earlier releases keep reading it, while they refuse a pooled one instead of misreading it.
 */
export const VECTOR_FORMAT_VERSION = 2;
export const VECTOR_FORMAT_VERSIONS_READ: readonly number[] = [1, 2];

/** Prefix of our own metadata keys (llama.cpp ignores keys it does not know). */
export const METADATA_PREFIX = "inferaligner.";

export interface VectorLayerInfo {
  layer: number;
  /** |v_l| */
  norm: number;
  meanActivationNorm: number;
  /** Default gate threshold (cosine, the false-open budget's). */
  threshold: number;
  /** `budget` is `best` in files written before the false-open budget existed. */
  thresholds: Record<ScoreKind, { midpoint: number; best: number; calibrationAccuracy: number; budget: number }>;
  /** openHarmful/openHarmless are null in files written before the false-open budget existed. */
  validation: Record<ScoreKind, { accuracy: number; auc: number; openHarmful: number | null; openHarmless: number | null }> | null;
}

/** A vector file as read back. */
export interface VectorFile {
  formatVersion: number;
  modelHint: string;
  layerCount: number;
  embeddingLength: number;
  source: SourceModel;
  chatTemplate: string;
  counts: SafetyVectors["counts"];
  /** The false-open budget of the default thresholds; null in files written before it existed (their default is `best`). */
  falseOpenBudget: number | null;
  /** How many of the prompt's last tokens the gate averages (1: the last token; files of version 1). */
  gatePoolTokens: number;
  /**
   * The gate's unit direction per block when it has its own (pooled activations, or a probe's),
   * else null: the gate then uses `directions`, and steering always does.
   */
  gateDirections: Float32Array[] | null;
  /** How the gate's direction was found ("mean-difference" in files of version 1). */
  gateDirectionKind: GateDirectionKind;
  layers: VectorLayerInfo[];
  /** Unit direction per block, index = block (0 included). */
  directions: Float32Array[];
  harmfulMeans: Float32Array[];
  harmlessMeans: Float32Array[];
  suggested: SafetyVectors["suggested"];
  /** Steering defaults saved by `inferaligner calibrate --save`; null when never calibrated. */
  defaults: GuidanceDefaults | null;
}

/** Steering strength and range chosen by calibration, stored in the (steer) vector file. */
export interface GuidanceDefaults {
  alphaRelative: number;
  steerLayers: [number, number];
  /** What the choice was made on, e.g. "harmful_val.json (39) + harmless_val.json (39), target 0.9". */
  calibratedOn: string;
}

/** A malformed vector file: ERR_VECTOR_FILE, naming the file. */
export function vectorFileError(path: string, message: string): LlamaError {
  return new LlamaError(`vector file '${path}': ${message}`, "ERR_VECTOR_FILE");
}

/** Reads one file's metadata by full key; every wrong or missing value is a vectorFileError. */
export class VectorMetadata {
  constructor(
    private readonly metadata: Map<string, GgufReadValue>,
    readonly path: string,
  ) {}

  has(key: string): boolean {
    return this.metadata.has(key);
  }

  /** The value as stored, undefined when absent. */
  get(key: string): GgufReadValue | undefined {
    return this.metadata.get(key);
  }

  /** The value as stored; absent is an error. */
  value(key: string): GgufReadValue {
    const v = this.metadata.get(key);
    if (v === undefined) throw vectorFileError(this.path, `missing ${key}`);
    return v;
  }

  string(key: string): string {
    const v = this.value(key);
    if (typeof v !== "string") throw vectorFileError(this.path, `${key} must be a string`);
    return v;
  }

  int(key: string): number {
    const v = this.value(key);
    if (typeof v !== "number" || !Number.isInteger(v)) throw vectorFileError(this.path, `${key} must be an integer`);
    return v;
  }

  /** Exactly `length` finite numbers. */
  floats(key: string, length: number): Float32Array {
    const v = this.value(key);
    if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== "number"))
      throw vectorFileError(this.path, `${key} must hold ${length} numbers`);
    const out = Float32Array.from(v as number[]);
    if (!out.every(Number.isFinite)) throw vectorFileError(this.path, `${key} has a value that is not finite (NaN or infinity)`);
    return out;
  }
}
