// Options and results of a generation, and their validation (one message shape for bad input).
import type { NativeGenerateOptions, NativeGenerateResult, NativeStopReason } from "./binding.js";
import type { GateReport, GuidanceOptions, ResolvedGuidance } from "./guidance.js";
import type { Token } from "./Model.js";

export interface SamplingOptions {
  /** 0 (or less) = greedy argmax. Defaults to `0`. */
  temperature?: number;
  /** Keep the k most likely tokens; 0 = off. Defaults to `0`. */
  topK?: number;
  /** Nucleus sampling mass; 1 = off. Defaults to `1`. */
  topP?: number;
  /** Drop tokens below minP x the top probability; 0 = off. Defaults to `0`. */
  minP?: number;
  /** Seed of the sampler's RNG (sampled mode only). Defaults to a random seed. */
  seed?: number;
}

export interface GenerationChunk {
  /** The generated token, or null for the final flush of held-back text. */
  token: Token | null;
  /** Text this token released: may be empty while a UTF-8 character or a possible stop string is incomplete. */
  text: string;
}

export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; the end-of-generation token is not counted. Defaults to until the context is full. */
  maxTokens?: number;
  /** Stop when the text contains one of these; the stop string is not part of the result. Defaults to none. */
  stop?: readonly string[];
  /** Stops generation promptly; the promise then rejects with a GenerationAbortedError. */
  signal?: AbortSignal;
  /** Called for every generated token, in order, before the promise settles. */
  onToken?: (chunk: GenerationChunk) => void;
  /** Return the logits each token was sampled from (for tests and analysis). Defaults to `false`. */
  captureLogits?: boolean;
  /** InferAligner guidance for this turn (the context must have its eval hook, the default). Defaults to none. */
  guidance?: GuidanceOptions | ResolvedGuidance;
  /**
   * How many prompt tokens belong to earlier turns of a conversation (ChatSession sets it): when
   * the gate opens, everything after them is steered. Defaults to `0` (the whole prompt is the turn).
   */
  turnStart?: number;
}

export type StopReason = NativeStopReason | "refused";

export interface GenerationTimings {
  /** Tokens in the prompt (template and special tokens included). */
  promptTokenCount: number;
  /** Prompt tokens taken from the KV cache of an earlier call instead of evaluated again. */
  reusedTokenCount: number;
  /** Prompt tokens evaluated by this call. */
  evaluatedTokenCount: number;
  /** evaluatedTokenCount per second of prompt processing. */
  promptTokensPerSecond: number;
  generatedTokenCount: number;
  generationTokensPerSecond: number;
  promptMs: number;
  generationMs: number;
}

export interface GenerationResult {
  text: string;
  /** Generated token ids; the end-of-generation token is excluded. */
  tokens: Token[];
  /** The ids fed to the model for this call, template and special tokens included. */
  promptTokens: Token[];
  stopReason: StopReason;
  /** The stop string that ended generation, when stopReason is "stop". */
  stopString?: string;
  timings: GenerationTimings;
  /** With captureLogits: one row (vocabulary-sized) per sampled token, the end token included. */
  logits?: Float32Array[];
  /** With guidance: the gate decision of this turn. */
  gate?: GateReport;
}

const expect = (what: string, name: string, value: unknown): TypeError =>
  new TypeError(`Expected ${what} for ${name} but received ${String(value)} of type ${typeof value}`);

function checkNumber(name: string, value: unknown, min: number, max: number, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== "number" || Number.isNaN(value)) throw expect("a number", name, value);
  if (integer && !Number.isInteger(value)) throw expect("an integer", name, value);
  if (value < min || value > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${value}`);
}

/** Validates user options and maps them onto the native call. */
export function toNativeOptions(options: GenerateOptions): NativeGenerateOptions {
  checkNumber("maxTokens", options.maxTokens, 0, 2 ** 31 - 1, true);
  checkNumber("temperature", options.temperature, -Infinity, 1e6);
  checkNumber("topK", options.topK, 0, 2 ** 31 - 1, true);
  checkNumber("topP", options.topP, 0, 1);
  checkNumber("minP", options.minP, 0, 1);
  checkNumber("seed", options.seed, 0, 2 ** 32 - 1, true);
  checkNumber("turnStart", options.turnStart, 0, 2 ** 31 - 1, true);
  if (options.stop !== undefined) {
    if (!Array.isArray(options.stop) || options.stop.some((s) => typeof s !== "string")) throw expect("an array of strings", "stop", options.stop);
  }
  if (options.onToken !== undefined && typeof options.onToken !== "function") throw expect("a function", "onToken", options.onToken);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw expect("an AbortSignal", "signal", options.signal);
  return {
    maxTokens: options.maxTokens ?? -1,
    stop: options.stop ? options.stop.filter((s) => s.length > 0) : [],
    captureLogits: options.captureLogits ?? false,
    temperature: options.temperature ?? 0,
    topK: options.topK ?? 0,
    topP: options.topP ?? 1,
    minP: options.minP ?? 0,
    seed: options.seed,
    turnStart: options.turnStart ?? 0,
  };
}

export function toResult(promptTokens: Token[], r: NativeGenerateResult): GenerationResult {
  const perSecond = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0);
  const result: GenerationResult = {
    text: r.text,
    tokens: Array.from(r.tokens),
    promptTokens,
    stopReason: r.stopReason,
    timings: {
      promptTokenCount: r.promptTokenCount,
      reusedTokenCount: r.reusedTokenCount,
      evaluatedTokenCount: r.evaluatedTokenCount,
      promptTokensPerSecond: perSecond(r.evaluatedTokenCount, r.promptMs),
      generatedTokenCount: r.tokens.length,
      generationTokensPerSecond: perSecond(r.tokens.length, r.generationMs),
      promptMs: r.promptMs,
      generationMs: r.generationMs,
    },
  };
  if (r.stopString !== undefined) result.stopString = r.stopString;
  if (r.logits) result.logits = r.logits;
  return result;
}
