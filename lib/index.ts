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
