// Vector files: GGUF that llama.cpp loads as a control vector (general.architecture =
// "controlvector", tensors direction.<N> = the unit safety direction of block N, N >= 1), plus our
// own metadata under "inferaligner.". llama.cpp's loader rejects a file with any tensor not named
// direction.<N>, N >= 1 (common_control_vector_load_one), so block 0's direction and the class
// means travel as f32 metadata arrays, not tensors.
//
// This module is the API; the parts are vectorFileFormat.ts (types, typed metadata reads),
// encodeVectorFile.ts (writing, saving defaults), decodeVectorFile.ts (reading and checking) and
// fitsModel.ts (whether a file fits a model).
import type { VectorFile } from "./vectorFileFormat.js";

export { VECTOR_FORMAT_VERSION, type GuidanceDefaults, type VectorFile, type VectorLayerInfo } from "./vectorFileFormat.js";
export { encodeVectorFile, saveGuidanceDefaults, writeVectorFile } from "./encodeVectorFile.js";
export { readSteeringFile, readVectorFile } from "./decodeVectorFile.js";
export { checkControlVectorFitsModel, checkVectorsFitModel } from "./fitsModel.js";

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
    gatePoolTokens: v.gatePoolTokens,
    gateDirectionKind: v.gateDirectionKind,
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
