// Public API of the inferaligner package: the engine (models, contexts, chat sessions), guidance,
// and making a model's safety vectors. Vector-file details and prompt sets are in
// `inferaligner/vectors`, evaluation in `inferaligner/eval` (docs/api.md documents all three).
export { LlamaModel, type ModelOptions, type ModelInfo, type SpecialTokens, type Token, type TokenizeOptions } from "./Model.js";
export { LlamaContext, type ContextInfo, type ContextOptions } from "./Context.js";
export { ChatSession, streamOf, type ChatSessionOptions } from "./ChatSession.js";
export {
  GEMMA_TEMPLATE,
  customChatTemplate,
  resolveChatTemplate,
  type ChatMessage,
  type ChatRole,
  type ChatTemplate,
  type RenderOptions,
} from "./chatTemplate.js";
export type { GenerateOptions, GenerationChunk, GenerationResult, GenerationTimings, SamplingOptions, StopReason } from "./generation.js";
export { LlamaError, GenerationAbortedError, type LlamaErrorCode } from "./errors.js";
export { setLogLevel } from "./binding.js";
export { setLogger, type LogHandler, type LogLevel } from "./log.js";
export type { DeviceInfo, GpuChoice, GpuKind } from "./gpu.js";
export {
  resolveGuidance,
  DEFAULT_ALPHA_RELATIVE,
  DEFAULT_REFUSAL,
  type GuidanceOptions,
  type GateReport,
  type GateLayerReport,
  type GateRule,
  type ResolvedGuidance,
} from "./guidance.js";
export { GUIDANCE_MODES, SCORE_KINDS, type GuidanceMode, type ScoreKind } from "./vocabulary.js";
export { extractSafetyVectors } from "./vectors/extract.js";
export type { ExtractOptions, ExtractionProgress, SafetyVectors } from "./vectors/safetyVectors.js";
export { builtinExtractionSets } from "./data/builtinPrompts.js";
export { readVectorFile } from "./vectors/decodeVectorFile.js";
export { writeVectorFile } from "./vectors/encodeVectorFile.js";
export type { VectorFile } from "./vectors/vectorFileFormat.js";
