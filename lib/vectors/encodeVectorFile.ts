// Writing vector files: SafetyVectors as GGUF that llama.cpp loads as a control vector (tensors
// direction.<N> for blocks N >= 1) with everything else under our metadata prefix, written
// atomically; and saving calibrated steering defaults into an existing file in place.
import { renameSync, rmSync, writeFileSync } from "node:fs";
import { LlamaError } from "../errors.js";
import { readGguf, type GgufFile } from "../gguf/reader.js";
import { valueTypeName, type GgufNumericType } from "../gguf/metadataValues.js";
import { encodeGguf, arr, f32, i32, str, u32, type GgufTensor, type GgufValue } from "../gguf/writer.js";
import { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";
import type { SafetyVectors } from "./extract.js";
import { readVectorFile } from "./decodeVectorFile.js";
import { METADATA_PREFIX as P, VECTOR_FORMAT_VERSION, type GuidanceDefaults } from "./vectorFileFormat.js";

type MetadataEntry = [string, GgufValue];
type Layer = SafetyVectors["layers"][number];

export function encodeVectorFile(v: SafetyVectors): Buffer {
  const metadata = [...headerEntries(v), ...layerEntries(v), ...SCORE_KINDS.flatMap((kind) => scoreEntries(v, kind))];
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
  replaceFile(path, encodeVectorFile(vectors));
}

/** Writes through a temporary file and a rename, so that a reader never sees half a file; a failed write leaves nothing behind. */
function replaceFile(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw new LlamaError(`cannot write vector file '${path}': ${(error as Error).message}`, "ERR_INVALID_ARGUMENT");
  }
}

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
  const metadata = metadataAsWritten(file).filter(([key]) => !key.startsWith(`${P}defaults.`));
  metadata.push(
    [`${P}defaults.alpha_relative`, f32(defaults.alphaRelative)],
    [`${P}defaults.steer_layers`, arr("i32", [from, to])],
    [`${P}defaults.calibrated_on`, str(defaults.calibratedOn)],
  );
  const tensors: GgufTensor[] = file.tensors.map((t) => ({ name: t.name, shape: t.shape, type: "F32", data: file.readF32(t.name) }));
  replaceFile(path, encodeGguf(metadata, tensors));
}

/** A file's metadata as values for the writer, each with the GGUF type it was read with. */
function metadataAsWritten(file: GgufFile): MetadataEntry[] {
  return [...file.metadata].map(([key, value]): MetadataEntry => {
    const t = file.metadataTypes.get(key)!;
    const name = valueTypeName(t.type);
    if (name === "arr") return [key, arr(valueTypeName(t.elementType!) as GgufNumericType, value as number[])];
    return [key, { type: name, value } as GgufValue];
  });
}

/** What llama.cpp reads, then where the vectors came from and what they were made of. */
function headerEntries(v: SafetyVectors): MetadataEntry[] {
  return [
    ["general.architecture", str("controlvector")],
    ["general.name", str(`inferaligner safety vectors for ${v.source.fileName}`)],
    ["controlvector.model_hint", str(v.source.architecture)],
    ["controlvector.layer_count", u32(v.layers.length)],
    // A gate on the last token with the mean-difference direction keeps version 1 (see VECTOR_FORMAT_VERSION).
    [`${P}format_version`, u32(hasOwnGate(v) ? VECTOR_FORMAT_VERSION : 1)],
    [`${P}source.architecture`, str(v.source.architecture)],
    [`${P}source.layer_count`, u32(v.source.layerCount)],
    [`${P}source.embedding_length`, u32(v.source.embeddingLength)],
    [`${P}source.file_name`, str(v.source.fileName)],
    [`${P}source.sha256`, str(v.source.sha256)],
    ...(v.source.fingerprint ? ([[`${P}source.fingerprint`, str(v.source.fingerprint)]] as MetadataEntry[]) : []),
    [`${P}chat_template`, str(v.chatTemplate)],
    [`${P}prompts.harmful`, u32(v.counts.harmful)],
    [`${P}prompts.harmless`, u32(v.counts.harmless)],
    [`${P}prompts.val_harmful`, u32(v.counts.valHarmful)],
    [`${P}prompts.val_harmless`, u32(v.counts.valHarmless)],
    [`${P}gate.false_open_budget`, f32(v.falseOpenBudget)],
    ...(hasOwnGate(v)
      ? ([
          [`${P}gate.pool_tokens`, u32(v.gatePoolTokens)],
          [`${P}gate.direction_kind`, str(v.gateDirectionKind)],
          [`${P}gate.directions`, arr("f32", concat(v.layers.map((l) => l.gateDirection ?? l.direction)))],
        ] as MetadataEntry[])
      : []),
  ];
}

/** Whether the gate reads other activations or another direction than steering does (version 2). */
function hasOwnGate(v: SafetyVectors): boolean {
  return (v.gatePoolTokens ?? 1) > 1 || v.layers.some((l) => l.gateDirection !== undefined);
}

/** One f32 a layer, in block order. */
function perLayer(v: SafetyVectors, f: (l: Layer) => number): GgufValue {
  return arr("f32", v.layers.map(f));
}

function concat(rows: readonly Float32Array[]): number[] {
  const out: number[] = [];
  for (const r of rows) for (const x of r) out.push(x);
  return out;
}

/**
 * Per-layer values, block 0's direction (llama.cpp's loader rejects a direction.0 tensor) and the
 * class means (flattened, block after block), and the suggested layers.
 */
function layerEntries(v: SafetyVectors): MetadataEntry[] {
  return [
    [`${P}layer.norm`, perLayer(v, (l) => l.norm)],
    [`${P}layer.mean_activation_norm`, perLayer(v, (l) => l.meanActivationNorm)],
    [`${P}direction.0`, arr("f32", Array.from(v.layers[0]!.direction))],
    [`${P}mean.harmful`, arr("f32", concat(v.layers.map((l) => l.harmfulMean)))],
    [`${P}mean.harmless`, arr("f32", concat(v.layers.map((l) => l.harmlessMean)))],
    [`${P}suggested.gate_layer`, i32(v.suggested.gateLayer)],
    [`${P}suggested.steer_layers`, arr("i32", v.suggested.steerLayers)],
  ];
}

/** One score kind's thresholds, and its validation results when every layer has them. */
function scoreEntries(v: SafetyVectors, kind: ScoreKind): MetadataEntry[] {
  const entries: MetadataEntry[] = [
    [`${P}threshold.${kind}.midpoint`, perLayer(v, (l) => l.thresholds[kind].midpoint)],
    [`${P}threshold.${kind}.best`, perLayer(v, (l) => l.thresholds[kind].best)],
    [`${P}threshold.${kind}.calibration_accuracy`, perLayer(v, (l) => l.thresholds[kind].calibrationAccuracy)],
    [`${P}threshold.${kind}.budget`, perLayer(v, (l) => l.thresholds[kind].budget)],
  ];
  if (v.layers.every((l) => l.validation)) {
    entries.push(
      [`${P}validation.${kind}.accuracy`, perLayer(v, (l) => l.validation![kind].accuracy)],
      [`${P}validation.${kind}.auc`, perLayer(v, (l) => l.validation![kind].auc)],
      [`${P}validation.${kind}.open_harmful`, perLayer(v, (l) => l.validation![kind].openHarmful)],
      [`${P}validation.${kind}.open_harmless`, perLayer(v, (l) => l.validation![kind].openHarmless)],
    );
  }
  return entries;
}
