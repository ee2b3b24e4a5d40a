// Reading vector files back: every key and tensor is checked (present, typed, the right length,
// finite, directions of unit length, layers in range), so a damaged or foreign file fails with
// ERR_VECTOR_FILE naming what is wrong instead of steering with garbage. Files from before the
// false-open budget (no budget thresholds, no open shares) and before calibration (no defaults)
// still read, with those parts null or falling back as documented on VectorFile.
import { LlamaError } from "../errors.js";
import { GgufFormatError, readGguf, type GgufFile } from "../gguf/reader.js";
import type { ModelInfo } from "../Model.js";
import { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";
import { norm } from "./stats.js";
import { isPlainControlVector, readControlVector, type ControlVector } from "./controlVector.js";
import type { SourceModel } from "./extract.js";
import { checkControlVectorFitsModel, checkVectorsFitModel } from "./fitsModel.js";
import {
  METADATA_PREFIX as P,
  VECTOR_FORMAT_VERSIONS_READ,
  VectorMetadata,
  vectorFileError,
  type GuidanceDefaults,
  type VectorFile,
  type VectorLayerInfo,
} from "./vectorFileFormat.js";

/**
 * Reads and validates a vector file. With `model`, also checks that it fits that model
 * (layer count and embedding width).
 */
export function readVectorFile(path: string, model?: { info: ModelInfo }): VectorFile {
  const file = parseFile(path);
  if (isPlainControlVector(file)) {
    throw vectorFileError(
      path,
      "a plain llama.cpp control vector (no inferaligner metadata) cannot gate: it has no gate thresholds or class means. " +
        "It can steer (guidance.steer, --steer: the stored vector x alpha); extract a gate file of the model with `inferaligner extract`",
    );
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

function parseFile(path: string): GgufFile {
  try {
    return readGguf(path);
  } catch (error) {
    if (error instanceof GgufFormatError) throw vectorFileError(path, error.message);
    throw new LlamaError(`cannot read vector file '${path}': ${(error as Error).message}`, "ERR_VECTOR_FILE", 0, { cause: error });
  }
}

/** The checks run in a fixed order, so that a file with several faults always reports the same one. */
function vectorFileOf(file: GgufFile, path: string, model?: { info: ModelInfo }): VectorFile {
  const m = new VectorMetadata(file.metadata, path);
  const { version, layerCount, embeddingLength } = readShape(m);
  const source = readSource(m, layerCount, embeddingLength);
  const directions = readDirections(file, m, layerCount, embeddingLength);
  const tables = readLayerTables(m, layerCount);
  const suggested = readSuggested(m, layerCount);
  const vectors: VectorFile = {
    formatVersion: version,
    modelHint: m.string("controlvector.model_hint"),
    layerCount,
    embeddingLength,
    source,
    chatTemplate: m.string(`${P}chat_template`),
    counts: {
      harmful: m.int(`${P}prompts.harmful`),
      harmless: m.int(`${P}prompts.harmless`),
      valHarmful: m.int(`${P}prompts.val_harmful`),
      valHarmless: m.int(`${P}prompts.val_harmless`),
    },
    falseOpenBudget: tables.falseOpenBudget,
    ...readGatePooling(m, version, layerCount, embeddingLength),
    layers: Array.from({ length: layerCount }, (_, l) => layerInfo(tables, l)),
    directions,
    harmfulMeans: splitRows(m.floats(`${P}mean.harmful`, layerCount * embeddingLength), layerCount, embeddingLength),
    harmlessMeans: splitRows(m.floats(`${P}mean.harmless`, layerCount * embeddingLength), layerCount, embeddingLength),
    suggested,
    defaults: readDefaults(m, layerCount),
  };
  // llama.cpp keeps only one row of the last block: a gate that pools cannot be suggested there.
  if (vectors.gatePoolTokens > 1 && suggested.gateLayer === layerCount - 1) {
    throw vectorFileError(
      path,
      `suggested.gate_layer is the last block (${layerCount - 1}), which a gate pooling ${vectors.gatePoolTokens} tokens cannot read`,
    );
  }
  if (model) checkVectorsFitModel(vectors, model.info, path);
  return vectors;
}

function readShape(m: VectorMetadata): { version: number; layerCount: number; embeddingLength: number } {
  if (m.get("general.architecture") !== "controlvector") throw vectorFileError(m.path, 'general.architecture is not "controlvector"');
  const version = m.int(`${P}format_version`);
  if (!VECTOR_FORMAT_VERSIONS_READ.includes(version)) {
    throw vectorFileError(m.path, `format version ${version}; this package reads versions ${VECTOR_FORMAT_VERSIONS_READ.join(" and ")}`);
  }
  const layerCount = m.int("controlvector.layer_count");
  const embeddingLength = m.int(`${P}source.embedding_length`);
  if (layerCount < 1 || embeddingLength < 1) throw vectorFileError(m.path, "empty dimensions");
  return { version, layerCount, embeddingLength };
}

/** Version 2: the pooled gate's token count and unit directions (absent from version 1: the last token). */
function readGatePooling(
  m: VectorMetadata,
  version: number,
  layerCount: number,
  embeddingLength: number,
): Pick<VectorFile, "gatePoolTokens" | "gateDirections" | "gateDirectionKind"> {
  if (version < 2 || !m.has(`${P}gate.pool_tokens`)) return { gatePoolTokens: 1, gateDirections: null, gateDirectionKind: "mean-difference" };
  const gatePoolTokens = m.int(`${P}gate.pool_tokens`);
  if (gatePoolTokens < 1 || gatePoolTokens > 256) throw vectorFileError(m.path, `gate.pool_tokens ${gatePoolTokens} is not in 1..256`);
  const gateDirectionKind = m.string(`${P}gate.direction_kind`);
  if (gateDirectionKind !== "probe" && gateDirectionKind !== "mean-difference") {
    throw vectorFileError(m.path, `gate.direction_kind is "${gateDirectionKind}", not probe or mean-difference`);
  }
  const gateDirections = splitRows(m.floats(`${P}gate.directions`, layerCount * embeddingLength), layerCount, embeddingLength);
  gateDirections.forEach((d, l) => {
    if (!d.every(Number.isFinite)) throw vectorFileError(m.path, `gate direction of block ${l} has a value that is not finite`);
    if (Math.abs(norm(d) - 1) > 1e-3) throw vectorFileError(m.path, `gate direction of block ${l} is not a unit vector (norm ${norm(d)})`);
  });
  return { gatePoolTokens, gateDirections, gateDirectionKind };
}

function readSource(m: VectorMetadata, layerCount: number, embeddingLength: number): SourceModel {
  const source: SourceModel = {
    architecture: m.string(`${P}source.architecture`),
    layerCount: m.int(`${P}source.layer_count`),
    embeddingLength,
    fileName: m.string(`${P}source.file_name`),
    sha256: m.string(`${P}source.sha256`),
    ...(m.has(`${P}source.fingerprint`) ? { fingerprint: m.string(`${P}source.fingerprint`) } : {}),
  };
  if (source.layerCount !== layerCount) throw vectorFileError(m.path, "controlvector.layer_count disagrees with the source model's layer count");
  return source;
}

/** Block 0's direction from the metadata, the others from the direction.<N> tensors; all unit vectors. */
function readDirections(file: GgufFile, m: VectorMetadata, layerCount: number, embeddingLength: number): Float32Array[] {
  const directions: Float32Array[] = [m.floats(`${P}direction.0`, embeddingLength)];
  for (let l = 1; l < layerCount; l++) directions.push(readDirectionTensor(file, m.path, l, embeddingLength));
  directions.forEach((d, l) => {
    if (Math.abs(norm(d) - 1) > 1e-3) throw vectorFileError(m.path, `direction of block ${l} is not a unit vector (norm ${norm(d)})`);
  });
  return directions;
}

function readDirectionTensor(file: GgufFile, path: string, l: number, embeddingLength: number): Float32Array {
  const t = file.tensors.find((x) => x.name === `direction.${l}`);
  if (!t) throw vectorFileError(path, `missing tensor direction.${l}`);
  if (t.shape.length !== 1 || t.shape[0] !== embeddingLength)
    throw vectorFileError(path, `direction.${l} has shape [${t.shape}], expected [${embeddingLength}]`);
  let data;
  try {
    data = file.readF32(t.name);
  } catch (error) {
    throw vectorFileError(path, (error as Error).message);
  }
  if (!data.every(Number.isFinite)) throw vectorFileError(path, `direction.${l} has a value that is not finite (NaN or infinity)`);
  return data;
}

/** The per-layer arrays of one file, each `layerCount` long. */
interface LayerTables {
  norms: Float32Array;
  activationNorms: Float32Array;
  falseOpenBudget: number | null;
  thresholds: Record<ScoreKind, { midpoint: Float32Array; best: Float32Array; acc: Float32Array; budget: Float32Array }>;
  validation: Record<ScoreKind, { accuracy: Float32Array; auc: Float32Array; openHarmful: Float32Array | null; openHarmless: Float32Array | null }> | null;
}

function readLayerTables(m: VectorMetadata, layerCount: number): LayerTables {
  const per = (key: string) => m.floats(`${P}${key}`, layerCount);
  const norms = per("layer.norm");
  const activationNorms = per("layer.mean_activation_norm");
  const falseOpenBudget = readFalseOpenBudget(m);
  const thresholds = byScoreKind((k) => {
    const best = per(`threshold.${k}.best`);
    // Files from before the false-open budget: their default threshold was `best`.
    return {
      midpoint: per(`threshold.${k}.midpoint`),
      best,
      acc: per(`threshold.${k}.calibration_accuracy`),
      budget: falseOpenBudget !== null ? per(`threshold.${k}.budget`) : best,
    };
  });
  const orNull = (key: string) => (m.has(`${P}${key}`) ? per(key) : null);
  const validation = m.has(`${P}validation.cosine.accuracy`)
    ? byScoreKind((k) => ({
        accuracy: per(`validation.${k}.accuracy`),
        auc: per(`validation.${k}.auc`),
        openHarmful: orNull(`validation.${k}.open_harmful`),
        openHarmless: orNull(`validation.${k}.open_harmless`),
      }))
    : null;
  return { norms, activationNorms, falseOpenBudget, thresholds, validation };
}

function readFalseOpenBudget(m: VectorMetadata): number | null {
  const key = `${P}gate.false_open_budget`;
  if (!m.has(key)) return null;
  const budget = m.value(key);
  if (typeof budget !== "number" || !(budget >= 0 && budget < 1)) throw vectorFileError(m.path, "gate.false_open_budget must be a share in [0, 1)");
  return budget;
}

function byScoreKind<T>(f: (kind: ScoreKind) => T): Record<ScoreKind, T> {
  return Object.fromEntries(SCORE_KINDS.map((k) => [k, f(k)])) as Record<ScoreKind, T>;
}

function layerInfo(t: LayerTables, l: number): VectorLayerInfo {
  return {
    layer: l,
    norm: t.norms[l]!,
    meanActivationNorm: t.activationNorms[l]!,
    threshold: t.thresholds.cosine.budget[l]!,
    thresholds: byScoreKind((k) => ({
      midpoint: t.thresholds[k].midpoint[l]!,
      best: t.thresholds[k].best[l]!,
      calibrationAccuracy: t.thresholds[k].acc[l]!,
      budget: t.thresholds[k].budget[l]!,
    })),
    validation: t.validation
      ? byScoreKind((k) => ({
          accuracy: t.validation![k].accuracy[l]!,
          auc: t.validation![k].auc[l]!,
          openHarmful: t.validation![k].openHarmful?.[l] ?? null,
          openHarmless: t.validation![k].openHarmless?.[l] ?? null,
        }))
      : null,
  };
}

function readSuggested(m: VectorMetadata, layerCount: number): VectorFile["suggested"] {
  const steer = m.value(`${P}suggested.steer_layers`);
  const gateLayer = m.int(`${P}suggested.gate_layer`);
  if (!Array.isArray(steer) || steer.length !== 2 || !steer.every((x) => typeof x === "number"))
    throw vectorFileError(m.path, "suggested.steer_layers must be [from, to]");
  const [from, to] = steer as [number, number];
  const inRange = (l: number) => Number.isInteger(l) && l >= 0 && l < layerCount;
  if (!inRange(gateLayer)) throw vectorFileError(m.path, `suggested.gate_layer ${gateLayer} is outside 0..${layerCount - 1}`);
  if (!inRange(from) || !inRange(to) || from > to) {
    throw vectorFileError(m.path, `suggested.steer_layers [${steer.join(", ")}] is not a range within 0..${layerCount - 1}`);
  }
  return { gateLayer, steerLayers: [from, to] };
}

/** `layerCount` rows of `width` from one flat array, block after block. */
function splitRows(flat: Float32Array, layerCount: number, width: number): Float32Array[] {
  return Array.from({ length: layerCount }, (_, l) => flat.slice(l * width, (l + 1) * width));
}

function readDefaults(m: VectorMetadata, layerCount: number): GuidanceDefaults | null {
  if (!m.has(`${P}defaults.alpha_relative`)) return null;
  const alpha = m.value(`${P}defaults.alpha_relative`);
  const range = m.value(`${P}defaults.steer_layers`);
  if (typeof alpha !== "number" || !Number.isFinite(alpha)) throw vectorFileError(m.path, "defaults.alpha_relative must be a finite number");
  const inRange = (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < layerCount;
  if (!Array.isArray(range) || range.length !== 2 || !range.every(inRange) || (range[0] as number) > (range[1] as number)) {
    throw vectorFileError(m.path, `defaults.steer_layers must be [from, to] within 0..${layerCount - 1}`);
  }
  return { alphaRelative: alpha, steerLayers: [range[0] as number, range[1] as number], calibratedOn: m.string(`${P}defaults.calibrated_on`) };
}
