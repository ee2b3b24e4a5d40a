// Vector files: GGUF that llama.cpp loads as a control vector (general.architecture =
// "controlvector", tensors direction.<N> = the unit safety direction of block N, N >= 1), plus our
// own metadata under "inferaligner.". llama.cpp's loader rejects a file with any tensor not named
// direction.<N>, N >= 1 (common_control_vector_load_one), so block 0's direction and the class
// means travel as f32 metadata arrays, not tensors.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { LlamaError } from "../errors.js";
import { encodeGguf, arr, f32, i32, str, u32, type GgufTensor, type GgufValue } from "../gguf/writer.js";
import { GgufFormatError, readGguf, type GgufFile, type GgufReadValue } from "../gguf/reader.js";
import { isPlainControlVector, readControlVector, type ControlVector } from "./controlVector.js";
import type { ModelInfo } from "../Model.js";
import type { SafetyVectors, SourceModel } from "./extract.js";
import { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";

export const VECTOR_FORMAT_VERSION = 1;

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

const P = "inferaligner.";

function concat(rows: readonly Float32Array[]): number[] {
  const out: number[] = [];
  for (const r of rows) for (const x of r) out.push(x);
  return out;
}

export function encodeVectorFile(v: SafetyVectors): Buffer {
  const n = v.layers.length;
  const per = (f: (l: SafetyVectors["layers"][number]) => number) => arr("f32", v.layers.map(f));
  const metadata: Array<[string, GgufValue]> = [
    ["general.architecture", str("controlvector")],
    ["general.name", str(`inferaligner safety vectors for ${v.source.fileName}`)],
    ["controlvector.model_hint", str(v.source.architecture)],
    ["controlvector.layer_count", u32(n)],
    [`${P}format_version`, u32(VECTOR_FORMAT_VERSION)],
    [`${P}source.architecture`, str(v.source.architecture)],
    [`${P}source.layer_count`, u32(v.source.layerCount)],
    [`${P}source.embedding_length`, u32(v.source.embeddingLength)],
    [`${P}source.file_name`, str(v.source.fileName)],
    [`${P}source.sha256`, str(v.source.sha256)],
    ...(v.source.fingerprint ? ([[`${P}source.fingerprint`, str(v.source.fingerprint)]] as Array<[string, GgufValue]>) : []),
    [`${P}chat_template`, str(v.chatTemplate)],
    [`${P}prompts.harmful`, u32(v.counts.harmful)],
    [`${P}prompts.harmless`, u32(v.counts.harmless)],
    [`${P}prompts.val_harmful`, u32(v.counts.valHarmful)],
    [`${P}prompts.val_harmless`, u32(v.counts.valHarmless)],
    [`${P}gate.false_open_budget`, f32(v.falseOpenBudget)],
    [`${P}layer.norm`, per((l) => l.norm)],
    [`${P}layer.mean_activation_norm`, per((l) => l.meanActivationNorm)],
    [`${P}direction.0`, arr("f32", Array.from(v.layers[0]!.direction))],
    [`${P}mean.harmful`, arr("f32", concat(v.layers.map((l) => l.harmfulMean)))],
    [`${P}mean.harmless`, arr("f32", concat(v.layers.map((l) => l.harmlessMean)))],
    [`${P}suggested.gate_layer`, i32(v.suggested.gateLayer)],
    [`${P}suggested.steer_layers`, arr("i32", v.suggested.steerLayers)],
  ];
  for (const kind of SCORE_KINDS) {
    metadata.push(
      [`${P}threshold.${kind}.midpoint`, per((l) => l.thresholds[kind].midpoint)],
      [`${P}threshold.${kind}.best`, per((l) => l.thresholds[kind].best)],
      [`${P}threshold.${kind}.calibration_accuracy`, per((l) => l.thresholds[kind].calibrationAccuracy)],
      [`${P}threshold.${kind}.budget`, per((l) => l.thresholds[kind].budget)],
    );
    if (v.layers.every((l) => l.validation)) {
      metadata.push(
        [`${P}validation.${kind}.accuracy`, per((l) => l.validation![kind].accuracy)],
        [`${P}validation.${kind}.auc`, per((l) => l.validation![kind].auc)],
        [`${P}validation.${kind}.open_harmful`, per((l) => l.validation![kind].openHarmful)],
        [`${P}validation.${kind}.open_harmless`, per((l) => l.validation![kind].openHarmless)],
      );
    }
  }
  const tensors: GgufTensor[] = v.layers
    .filter((l) => l.layer >= 1)
    .map((l) => ({ name: `direction.${l.layer}`, shape: [l.direction.length], type: "F32", data: l.direction }));
  return encodeGguf(metadata, tensors);
}

/**
 * Writes the file atomically (a temporary file beside it, then a rename): a reader never sees half a
 * file, and a failed write leaves any previous file as it was.
 */
export function writeVectorFile(path: string, vectors: SafetyVectors): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, encodeVectorFile(vectors));
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new LlamaError(`cannot write vector file '${path}': ${(error as Error).message}`, "ERR_INVALID_ARGUMENT");
  }
}

const formatError = (path: string, message: string) => new LlamaError(`vector file '${path}': ${message}`, "ERR_VECTOR_FILE");

function get(meta: Map<string, GgufReadValue>, key: string, path: string): GgufReadValue {
  const v = meta.get(key);
  if (v === undefined) throw formatError(path, `missing ${key}`);
  return v;
}
const getString = (m: Map<string, GgufReadValue>, k: string, p: string) => {
  const v = get(m, k, p);
  if (typeof v !== "string") throw formatError(p, `${k} must be a string`);
  return v;
};
const getInt = (m: Map<string, GgufReadValue>, k: string, p: string) => {
  const v = get(m, k, p);
  if (typeof v !== "number" || !Number.isInteger(v)) throw formatError(p, `${k} must be an integer`);
  return v;
};
function getFloats(m: Map<string, GgufReadValue>, k: string, p: string, length: number): Float32Array {
  const v = get(m, k, p);
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== "number")) throw formatError(p, `${k} must hold ${length} numbers`);
  const out = Float32Array.from(v as number[]);
  if (!out.every(Number.isFinite)) throw formatError(p, `${k} has a value that is not finite (NaN or infinity)`);
  return out;
}

/**
 * Reads and validates a vector file. With `model`, also checks that it fits that model
 * (architecture, layer count, embedding width).
 */
export function readVectorFile(path: string, model?: { info: ModelInfo }): VectorFile {
  const file = parseFile(path);
  if (isPlainControlVector(file)) {
    throw formatError(path, "a plain llama.cpp control vector (no inferaligner metadata) cannot gate: it has no gate thresholds or class means. " +
      "It can steer (guidance.steer, --steer: the stored vector x alpha); extract a gate file of the model with `inferaligner extract`");
  }
  return vectorFileOf(file, path, model);
}

/**
 * Reads a file that can steer: an InferAligner vector file, or a plain llama.cpp control vector
 * (see controlVector.ts for how its strength applies). With `model`, checks that it fits.
 */
export function readSteeringFile(path: string, model?: { info: ModelInfo }): VectorFile | ControlVector {
  const file = parseFile(path);
  if (!isPlainControlVector(file)) return vectorFileOf(file, path, model);
  const cv = readControlVector(path, file);
  if (model) checkControlVectorFitsModel(cv, model.info, path);
  return cv;
}

/** A plain control vector made for another model shape is refused, as a vector file is. */
export function checkControlVectorFitsModel(cv: ControlVector, info: ModelInfo, path = "control vector"): void {
  if (cv.embeddingLength !== info.embeddingLength || cv.layerCount > info.layerCount || (cv.modelHint !== "" && cv.modelHint !== info.architecture)) {
    throw new LlamaError(
      `${path} is a control vector for ${cv.modelHint || "a model"} with ${cv.embeddingLength}-wide directions up to block ${cv.layerCount - 1}, ` +
        `but the model is ${info.architecture} with ${info.layerCount} blocks of ${info.embeddingLength}`,
      "ERR_VECTOR_MISMATCH",
    );
  }
}

function parseFile(path: string): GgufFile {
  try {
    return readGguf(path);
  } catch (error) {
    if (error instanceof GgufFormatError) throw formatError(path, error.message);
    throw new LlamaError(`cannot read vector file '${path}': ${(error as Error).message}`, "ERR_VECTOR_FILE", 0, { cause: error });
  }
}

function vectorFileOf(file: GgufFile, path: string, model?: { info: ModelInfo }): VectorFile {
  const m = file.metadata;
  if (m.get("general.architecture") !== "controlvector") throw formatError(path, "general.architecture is not \"controlvector\"");
  const version = getInt(m, `${P}format_version`, path);
  if (version !== VECTOR_FORMAT_VERSION) throw formatError(path, `format version ${version}; this package reads version ${VECTOR_FORMAT_VERSION}`);
  const layerCount = getInt(m, "controlvector.layer_count", path);
  const embeddingLength = getInt(m, `${P}source.embedding_length`, path);
  if (layerCount < 1 || embeddingLength < 1) throw formatError(path, "empty dimensions");
  const source: SourceModel = {
    architecture: getString(m, `${P}source.architecture`, path),
    layerCount: getInt(m, `${P}source.layer_count`, path),
    embeddingLength,
    fileName: getString(m, `${P}source.file_name`, path),
    sha256: getString(m, `${P}source.sha256`, path),
    ...(m.has(`${P}source.fingerprint`) ? { fingerprint: getString(m, `${P}source.fingerprint`, path) } : {}),
  };
  if (source.layerCount !== layerCount) throw formatError(path, "controlvector.layer_count disagrees with the source model's layer count");

  const directions: Float32Array[] = [getFloats(m, `${P}direction.0`, path, embeddingLength)];
  for (let l = 1; l < layerCount; l++) {
    const t = file.tensors.find((x) => x.name === `direction.${l}`);
    if (!t) throw formatError(path, `missing tensor direction.${l}`);
    if (t.shape.length !== 1 || t.shape[0] !== embeddingLength) throw formatError(path, `direction.${l} has shape [${t.shape}], expected [${embeddingLength}]`);
    let data;
    try {
      data = file.readF32(t.name);
    } catch (error) {
      throw formatError(path, (error as Error).message);
    }
    if (!data.every(Number.isFinite)) throw formatError(path, `direction.${l} has a value that is not finite (NaN or infinity)`);
    directions.push(data);
  }
  const norm = (d: Float32Array) => Math.sqrt(d.reduce((s, x) => s + x * x, 0));
  directions.forEach((d, l) => {
    if (Math.abs(norm(d) - 1) > 1e-3) throw formatError(path, `direction of block ${l} is not a unit vector (norm ${norm(d)})`);
  });
  const split = (flat: Float32Array) => Array.from({ length: layerCount }, (_, l) => flat.slice(l * embeddingLength, (l + 1) * embeddingLength));
  const per = (key: string) => getFloats(m, `${P}${key}`, path, layerCount);
  const norms = per("layer.norm");
  const activationNorms = per("layer.mean_activation_norm");
  const hasBudget = m.has(`${P}gate.false_open_budget`);
  const falseOpenBudget = hasBudget ? get(m, `${P}gate.false_open_budget`, path) : null;
  if (falseOpenBudget !== null && (typeof falseOpenBudget !== "number" || !(falseOpenBudget >= 0 && falseOpenBudget < 1))) throw formatError(path, "gate.false_open_budget must be a share in [0, 1)");
  const thresholds = Object.fromEntries(SCORE_KINDS.map((k) => {
    const best = per(`threshold.${k}.best`);
    return [k, { midpoint: per(`threshold.${k}.midpoint`), best, acc: per(`threshold.${k}.calibration_accuracy`), budget: hasBudget ? per(`threshold.${k}.budget`) : best }];
  }));
  const hasValidation = m.has(`${P}validation.cosine.accuracy`);
  const validation = hasValidation
    ? Object.fromEntries(SCORE_KINDS.map((k) => [k, {
      accuracy: per(`validation.${k}.accuracy`),
      auc: per(`validation.${k}.auc`),
      openHarmful: m.has(`${P}validation.${k}.open_harmful`) ? per(`validation.${k}.open_harmful`) : null,
      openHarmless: m.has(`${P}validation.${k}.open_harmless`) ? per(`validation.${k}.open_harmless`) : null,
    }]))
    : null;
  const steer = get(m, `${P}suggested.steer_layers`, path);
  const gateLayer = getInt(m, `${P}suggested.gate_layer`, path);
  if (!Array.isArray(steer) || steer.length !== 2 || !steer.every((x) => typeof x === "number")) throw formatError(path, "suggested.steer_layers must be [from, to]");
  const inRange = (l: number) => Number.isInteger(l) && l >= 0 && l < layerCount;
  if (!inRange(gateLayer)) throw formatError(path, `suggested.gate_layer ${gateLayer} is outside 0..${layerCount - 1}`);
  if (!inRange(steer[0] as number) || !inRange(steer[1] as number) || (steer[0] as number) > (steer[1] as number)) {
    throw formatError(path, `suggested.steer_layers [${steer.join(", ")}] is not a range within 0..${layerCount - 1}`);
  }

  const vectors: VectorFile = {
    formatVersion: version,
    modelHint: getString(m, "controlvector.model_hint", path),
    layerCount,
    embeddingLength,
    source,
    chatTemplate: getString(m, `${P}chat_template`, path),
    counts: {
      harmful: getInt(m, `${P}prompts.harmful`, path),
      harmless: getInt(m, `${P}prompts.harmless`, path),
      valHarmful: getInt(m, `${P}prompts.val_harmful`, path),
      valHarmless: getInt(m, `${P}prompts.val_harmless`, path),
    },
    falseOpenBudget: falseOpenBudget as number | null,
    layers: Array.from({ length: layerCount }, (_, l) => ({
      layer: l,
      norm: norms[l]!,
      meanActivationNorm: activationNorms[l]!,
      threshold: thresholds.cosine!.budget[l]!,
      thresholds: Object.fromEntries(SCORE_KINDS.map((k) => [k, { midpoint: thresholds[k]!.midpoint[l]!, best: thresholds[k]!.best[l]!, calibrationAccuracy: thresholds[k]!.acc[l]!, budget: thresholds[k]!.budget[l]! }])) as VectorLayerInfo["thresholds"],
      validation: validation
        ? (Object.fromEntries(SCORE_KINDS.map((k) => [k, {
          accuracy: validation[k]!.accuracy[l]!,
          auc: validation[k]!.auc[l]!,
          openHarmful: validation[k]!.openHarmful?.[l] ?? null,
          openHarmless: validation[k]!.openHarmless?.[l] ?? null,
        }])) as NonNullable<VectorLayerInfo["validation"]>)
        : null,
    })),
    directions,
    harmfulMeans: split(getFloats(m, `${P}mean.harmful`, path, layerCount * embeddingLength)),
    harmlessMeans: split(getFloats(m, `${P}mean.harmless`, path, layerCount * embeddingLength)),
    suggested: { gateLayer, steerLayers: [steer[0] as number, steer[1] as number] },
    defaults: readDefaults(m, path, layerCount),
  };
  if (model) checkVectorsFitModel(vectors, model.info, path);
  return vectors;
}

function readDefaults(m: Map<string, GgufReadValue>, path: string, layerCount: number): GuidanceDefaults | null {
  if (!m.has(`${P}defaults.alpha_relative`)) return null;
  const alpha = get(m, `${P}defaults.alpha_relative`, path);
  const range = get(m, `${P}defaults.steer_layers`, path);
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) throw formatError(path, "defaults.alpha_relative must be a finite number");
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < layerCount) || (range[0] as number) > (range[1] as number)) {
    throw formatError(path, `defaults.steer_layers must be [from, to] within 0..${layerCount - 1}`);
  }
  return { alphaRelative: alpha, steerLayers: [range[0] as number, range[1] as number], calibratedOn: getString(m, `${P}defaults.calibrated_on`, path) };
}

const TYPE_NAMES = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"] as const;

/**
 * Saves steering defaults into an existing vector file (in place, through a temporary file and a
 * rename): every other key and tensor is written back unchanged, with its original type.
 */
export function saveGuidanceDefaults(path: string, defaults: GuidanceDefaults): void {
  const current = readVectorFile(path);
  const [from, to] = defaults.steerLayers;
  if (!Number.isFinite(defaults.alphaRelative)) throw new RangeError("alphaRelative must be finite");
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= current.layerCount || from > to) {
    throw new RangeError(`steerLayers [${from}, ${to}] is not a range within 0..${current.layerCount - 1}`);
  }
  const file = readGguf(path);
  const metadata: Array<[string, GgufValue]> = [];
  for (const [key, value] of file.metadata) {
    if (key.startsWith(`${P}defaults.`)) continue;
    const t = file.metadataTypes.get(key)!;
    const name = TYPE_NAMES[t.type];
    if (name === "arr") {
      metadata.push([key, arr(TYPE_NAMES[t.elementType!] as "f32", value as number[])]);
    } else {
      metadata.push([key, { type: name, value } as GgufValue]);
    }
  }
  metadata.push(
    [`${P}defaults.alpha_relative`, f32(defaults.alphaRelative)],
    [`${P}defaults.steer_layers`, arr("i32", [from, to])],
    [`${P}defaults.calibrated_on`, str(defaults.calibratedOn)],
  );
  const tensors: GgufTensor[] = file.tensors.map((t) => ({ name: t.name, shape: t.shape, type: "F32", data: file.readF32(t.name) }));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, encodeGguf(metadata, tensors));
  renameSync(tmp, path);
}

/** A vector file made for another model shape is refused (a clear error, never a silent misuse). */
export function checkVectorsFitModel(v: VectorFile, info: ModelInfo, path = "vectors"): void {
  if (v.embeddingLength !== info.embeddingLength || v.layerCount !== info.layerCount) {
    throw new LlamaError(
      `vector file '${path}' was made for a ${v.source.architecture} model with ${v.layerCount} layers of width ${v.embeddingLength} ` +
        `(${v.source.fileName}); this model (${info.architecture}) has ${info.layerCount} layers of width ${info.embeddingLength}`,
      "ERR_VECTOR_MISMATCH",
    );
  }
}

/** What `inferaligner inspect --json` prints. */
export function summarizeVectorFile(v: VectorFile) {
  return {
    architecture: "controlvector" as const,
    modelHint: v.modelHint,
    layerCount: v.layerCount,
    embeddingLength: v.embeddingLength,
    formatVersion: v.formatVersion,
    source: v.source,
    counts: v.counts,
    falseOpenBudget: v.falseOpenBudget,
    layers: v.layers.map((l) => ({
      layer: l.layer,
      norm: l.norm,
      meanActivationNorm: l.meanActivationNorm,
      threshold: l.threshold,
      thresholds: l.thresholds,
      calibrationAccuracy: l.thresholds.cosine.calibrationAccuracy,
      valAccuracy: l.validation?.cosine.accuracy ?? null,
      valAuc: l.validation?.cosine.auc ?? null,
      validation: l.validation,
    })),
    suggested: v.suggested,
    defaults: v.defaults,
  };
}
