// `inferaligner/vectors`: vector files in detail, llama.cpp control vectors, the gate's statistics,
// and the prompt sets and templates that vectors are made from. The essentials (extract, read,
// write) are also in the root export.
export { extractSafetyVectors, renderPrompt, templateSuffixTokens } from "./extract.js";
export {
  DEFAULT_FALSE_OPEN_BUDGET,
  DEFAULT_GATE_POOLING,
  DEFAULT_GATE_DIRECTION,
  type GatePooling,
  type GateDirectionKind,
  type ExtractOptions,
  type ExtractionProgress,
  type LayerVectors,
  type SafetyVectors,
  type SourceModel,
  type ThresholdInfo,
  type ValidationInfo,
} from "./safetyVectors.js";
export { suggestLayers } from "./layers.js";
export { probeDirection, GATE_PROBE_L2 } from "./probe.js";
export { readVectorFile, readSteeringFile } from "./decodeVectorFile.js";
export { encodeVectorFile, writeVectorFile, saveGuidanceDefaults } from "./encodeVectorFile.js";
export { summarizeVectorFile } from "./vectorFile.js";
export { checkVectorsFitModel, checkControlVectorFitsModel } from "./fitsModel.js";
export { VECTOR_FORMAT_VERSION, VECTOR_FORMAT_VERSIONS_READ, type VectorFile, type VectorLayerInfo, type GuidanceDefaults } from "./vectorFileFormat.js";
export { readControlVector, isControlVector, type ControlVector } from "./controlVector.js";
export { fileFingerprint } from "./fingerprint.js";
export {
  score,
  accuracyAt,
  midpointThreshold,
  bestThreshold,
  thresholdForFalseOpenBudget,
  rocAuc,
  openShare,
  calibrationThresholds,
  validationMetrics,
} from "./stats.js";
export { SCORE_KINDS, type ScoreKind } from "../vocabulary.js";
export { loadPromptSet, readPromptFile, loadRows, PROMPT_TEXT_FIELDS, type PromptFileOptions, type PromptSet } from "../prompts.js";
export type { PromptRow } from "../promptRows.js";
export {
  builtinPromptSet,
  builtinExtractionSets,
  BUILTIN_PROMPTS,
  BUILTIN_PROMPTS_VERSION,
  BUILTIN_PROMPT_CATEGORIES,
  BUILTIN_MATERIAL_PROMPTS,
  BUILTIN_MATERIAL_VERSION,
  type BuiltinPrompt,
  type BuiltinPromptKind,
  type BuiltinPromptSplit,
} from "../data/builtinPrompts.js";
export { fillTemplate, fillEachTemplate, checkTemplates, TEMPLATE_SLOT } from "../promptTemplates.js";
export { tokenizeRendered } from "../chatTemplate.js";
