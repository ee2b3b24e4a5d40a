// Public API of the inferaligner package.
export { LlamaModel, type ModelOptions, type ModelInfo, type SpecialTokens, type Token, type TokenizeOptions } from "./Model.js";
export { LlamaContext, type ContextOptions } from "./Context.js";
export { ChatSession, streamOf, type ChatSessionOptions } from "./ChatSession.js";
export {
  GEMMA_TEMPLATE, customChatTemplate, resolveChatTemplate, tokenizeRendered,
  type ChatMessage, type ChatRole, type ChatTemplate, type RenderOptions,
} from "./chatTemplate.js";
export type {
  GenerateOptions, GenerationChunk, GenerationResult, GenerationTimings, SamplingOptions, StopReason,
} from "./generation.js";
export { LlamaError, GenerationAbortedError, type LlamaErrorCode } from "./errors.js";
export { getBinding, setLogLevel, type NativeDevice } from "./binding.js";
export { loadPromptSet, readPromptFile, loadRows, PROMPT_TEXT_FIELDS, type PromptFileOptions, type PromptSet, type PromptRow } from "./prompts.js";
export { builtinPromptSet, builtinExtractionSets, BUILTIN_PROMPTS, BUILTIN_PROMPTS_VERSION, type BuiltinPromptKind, type BuiltinPromptSplit } from "./data/builtinPrompts.js";
export {
  extractSafetyVectors, renderPrompt, suggestLayers, DEFAULT_FALSE_OPEN_BUDGET,
  type ExtractOptions, type ExtractionProgress, type LayerVectors, type SafetyVectors, type SourceModel, type ThresholdInfo,
} from "./vectors/extract.js";
export {
  readVectorFile, readSteeringFile, writeVectorFile, encodeVectorFile, checkVectorsFitModel, summarizeVectorFile, saveGuidanceDefaults, VECTOR_FORMAT_VERSION,
  type VectorFile, type VectorLayerInfo, type GuidanceDefaults,
} from "./vectors/vectorFile.js";
export { readControlVector, type ControlVector } from "./vectors/controlVector.js";
export { accuracyAt, bestThreshold, midpointThreshold, rocAuc, score, thresholdForFalseOpenBudget, type ScoreKind } from "./vectors/stats.js";
export {
  resolveGuidance, DEFAULT_ALPHA_RELATIVE, DEFAULT_REFUSAL,
  type GuidanceOptions, type GuidanceMode, type GateReport, type GateLayerReport, type GateRule, type ResolvedGuidance,
} from "./guidance.js";
export { fillTemplate, fillEachTemplate, checkTemplates, TEMPLATE_SLOT } from "./promptTemplates.js";
export { buildEvalItems, itemKey, EVAL_SETS, JAILBREAK_PLACEHOLDER, type EvalItem, type EvalSetName, type EvalSetsOptions } from "./eval/items.js";
export { KeywordJudge, ModelJudge, DEFAULT_REFUSAL_MARKERS, modelJudgePrompt, parseJudgeVerdict, readRefusalMarkers, type Verdict, type JudgeName } from "./eval/judges.js";
export { readCodeTasks, codeTaskPrompt, extractCode, testProgram, runCodeTask, networkIsolation, type CodeTask, type ExecutionResult } from "./eval/utility.js";
export { repeatedTrigramCoverage, isDegenerate, DEGENERATE_COVERAGE } from "./eval/degeneration.js";
export { rate, wilsonInterval, formatRate, type Rate } from "./eval/rates.js";
export { runEval, readRecords, type EvalRecord, type EvalRunConfig, type EvalConfigName, type EvalProgress, type EvalRunIdentity, type RunEvalOptions } from "./eval/runEval.js";
export { computeReport, renderMarkdown, renderHtml, writeReport, type EvalReport, type ConfigMetrics, type GateMetrics, type JudgeInfo } from "./eval/report.js";
export { calibrateSteering, type CalibrateOptions, type CalibrationResult, type CalibrationRow, type CalibrationSetting } from "./eval/calibrate.js";
