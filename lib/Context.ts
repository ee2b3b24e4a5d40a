// LlamaContext: a llama.cpp context over a model. It keeps the tokens of its sequence in the KV
// cache, and each generation reuses the longest cached prefix of its prompt. One generation at a
// time: a second call while one runs rejects with ERR_CONTEXT_BUSY.
import { readFileSync } from "node:fs";
import os from "node:os";
import { getBinding, type NativeCaptureResult, type NativeContext } from "./binding.js";
import { disposedError, GenerationAbortedError, LlamaError, withCallSite } from "./errors.js";
import { gateReport, resolveGuidance, type ResolvedGuidance } from "./guidance.js";
import { toNativeOptions, toResult, type GenerateOptions, type GenerationChunk, type GenerationResult } from "./generation.js";
import type { ContextInfo, ContextOptions } from "./contextOptions.js";
import type { LlamaModel, Token } from "./Model.js";

export type { ContextInfo, ContextOptions } from "./contextOptions.js";

export class LlamaContext {
  readonly model: LlamaModel;
  /** The sizes llama.cpp actually chose (they may differ from what was asked). */
  readonly info: ContextInfo;
  /** @internal */
  readonly _native: NativeContext;
  #running: Promise<unknown> | undefined;
  #disposing: Promise<void> | undefined;

  private constructor(model: LlamaModel, native: NativeContext) {
    this.model = model;
    this._native = native;
    this.info = native.info();
  }

  /** @internal Use model.createContext(). */
  static async _create(model: LlamaModel, options: ContextOptions): Promise<LlamaContext> {
    // Sizes reach llama.cpp as 32-bit unsigned fields: a larger number would wrap (2^32 became
    // llama.cpp's default 2048), so anything outside 1..2^31-1 is refused here.
    const positive = (name: string, v: unknown) => {
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < 1)) {
        throw new TypeError(`Expected a positive integer for ${name} but received ${String(v)} of type ${typeof v}`);
      }
      if (v !== undefined && (v as number) > 2 ** 31 - 1) throw new RangeError(`${name} ${String(v)} is larger than ${2 ** 31 - 1}`);
    };
    if (![undefined, "auto", true, false].includes(options.flashAttention)) {
      throw new TypeError(`flashAttention is "auto", true or false, not ${String(options.flashAttention)}`);
    }
    positive("contextSize", options.contextSize);
    positive("batchSize", options.batchSize);
    positive("ubatchSize", options.ubatchSize);
    positive("threads", options.threads);
    positive("sequences", options.sequences);
    const contextSize = options.contextSize ?? Math.min(4096, model.info.contextLength || 4096);
    const batchSize = options.batchSize ?? Math.min(512, contextSize);
    const callSite = new Error();
    const native = new (getBinding().native.AddonContext)(model._native, {
      contextSize,
      batchSize,
      ubatchSize: Math.min(options.ubatchSize ?? 512, batchSize),
      threads: Math.min(options.threads ?? defaultThreads(), maxThreads()),
      swaFull: options.swaFull ?? true,
      sequences: options.sequences ?? 1,
      kvUnified: options.kvUnified ?? false,
      flashAttention: options.flashAttention === undefined || options.flashAttention === "auto" ? -1 : options.flashAttention ? 1 : 0,
      evalHook: options.evalHook ?? true,
    });
    try {
      await withCallSite(native.init(), callSite);
    } catch (error) {
      // The native object counts as one of the model's contexts until disposed: without this the
      // model could never be disposed after a failed creation (too many sequences, out of memory).
      try {
        await native.dispose();
      } catch {
        // Nothing more to free.
      }
      throw error;
    }
    return new LlamaContext(model, native);
  }

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  /** Whether a generation is running. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** The tokens of the sequence currently held in the KV cache. */
  get tokens(): Token[] {
    this.#checkIdle();
    return Array.from(this._native.tokens());
  }

  /** Empties the KV cache. */
  clear(): void {
    this.#checkIdle();
    this._native.clear();
  }

  /**
   * Generates a continuation of `promptTokens` (the whole prompt: the cached prefix they share
   * with the context's tokens is reused, the rest evaluated).
   */
  generate(promptTokens: readonly Token[], options: GenerateOptions = {}): Promise<GenerationResult> {
    return this.#generate(promptTokens, options, false);
  }

  /**
   * Runs `work` with the context claimed: the calls that tokenize a text before generating
   * (complete(), ChatSession) hold the context from the call on, so that a second call is
   * ERR_CONTEXT_BUSY at once instead of racing the first through tokenization. `work` generates
   * through the function it is given. @internal
   */
  _exclusive<T>(work: (generate: (tokens: readonly Token[], options: GenerateOptions) => Promise<GenerationResult>) => Promise<T>): Promise<T> {
    if (this.#disposing) return Promise.reject(disposedError("context"));
    if (this.#running) {
      return Promise.reject(new LlamaError("another generation is running on this context; await it or use another context", "ERR_CONTEXT_BUSY"));
    }
    const run = work((tokens, options) => this.#generate(tokens, options, true));
    this.#running = run
      .finally(() => {
        this.#running = undefined;
      })
      .catch(() => {});
    return run;
  }

  #generate(promptTokens: readonly Token[], options: GenerateOptions, claimed: boolean): Promise<GenerationResult> {
    if (this.#disposing) return Promise.reject(disposedError("context"));
    if (!Array.isArray(promptTokens) || promptTokens.length === 0) {
      return Promise.reject(new TypeError("Expected a non-empty array of prompt tokens"));
    }
    const badToken = promptTokenError(promptTokens, this.model.info.vocabSize);
    if (badToken) return Promise.reject(badToken);
    let nativeOptions;
    try {
      nativeOptions = toNativeOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#running && !claimed) {
      return Promise.reject(new LlamaError("another generation is running on this context; await it or use another context", "ERR_CONTEXT_BUSY"));
    }
    const { signal, onToken } = options;
    if (signal?.aborted) return Promise.reject(new GenerationAbortedError("the generation was aborted before it started"));
    let guidance: ResolvedGuidance | undefined;
    try {
      guidance = options.guidance ? resolveGuidance(this.model, options.guidance) : undefined;
    } catch (error) {
      return Promise.reject(error);
    }
    if (guidance && guidance.mode !== "off") {
      // On Vulkan, llama.cpp's control vector set again after a decode corrupts the heap (seen on
      // Mesa's llvmpipe, reproduced without our eval hook: test/gpu.test.ts); the shift goes
      // through the eval hook there, which costs a callback per steered layer per token.
      nativeOptions.guidance = this.model.info.backend === "vulkan" ? { ...guidance.native, shiftByHook: true } : guidance.native;
    }
    const callSite = new Error();
    const prompt = Uint32Array.from(promptTokens);
    const listener = onToken ? (token: number | null, text: string) => onToken({ token, text } satisfies GenerationChunk) : undefined;
    const onAbort = () => this._native.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const run = (async () => {
      try {
        const raw = await this._native.generate(prompt, nativeOptions, listener);
        const result = toResult(Array.from(prompt), raw);
        if (guidance && raw.gate) result.gate = gateReport(guidance, raw.gate);
        if (guidance && raw.stopReason === "refused") {
          result.text = guidance.refusal;
          onToken?.({ token: null, text: guidance.refusal });
        }
        if (raw.stopReason === "abort") throw new GenerationAbortedError("the generation was aborted", result);
        return result;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    })();
    if (!claimed)
      this.#running = run
        .finally(() => {
          this.#running = undefined;
        })
        .catch(() => {});
    return withCallSite(run, callSite);
  }

  /**
   * Raw completion: tokenizes `text` (BOS added as the model wants; special-token text is left as
   * text unless parseSpecial) and continues it, with no chat template.
   */
  complete(text: string, options: GenerateOptions & { parseSpecial?: boolean } = {}): Promise<GenerationResult> {
    if (typeof text !== "string") return Promise.reject(new TypeError("Expected a string prompt"));
    return this._exclusive(async (generate) => {
      // Off the JS thread, bounded by the context size before and after the work.
      const tokens = await this.model._tokenizeAsync(text, {
        addSpecial: true,
        parseSpecial: options.parseSpecial ?? false,
        limit: this.info.contextSize,
        signal: options.signal,
      });
      if (tokens.length === 0) throw new TypeError("The prompt is empty");
      return generate(tokens, options);
    });
  }

  /**
   * Activation capture: evaluates `prompts` (one sequence each, as many per llama_decode as the
   * context's sequences and batch allow) and returns the output of each block in `layers`
   * (`l_out-<layer>`) at every prompt's last token, rows[prompt][layer][n_embd]; with `lastRows` k,
   * at each prompt's last k tokens, rows[prompt][layer][k][n_embd]; with `allRows` (one prompt),
   * every token's row, [layer][token][n_embd]. The KV cache is cleared first. Claims
   * the context like a generation (ERR_CONTEXT_BUSY while another operation runs, and the other
   * way round); `signal` aborts the decode with GenerationAbortedError. Needs a context created
   * with evalHook.
   * @internal
   */
  _capture(
    prompts: readonly Uint32Array[],
    options: { layers: readonly number[]; allRows?: boolean; lastRows?: number; signal?: AbortSignal },
  ): Promise<NativeCaptureResult> {
    if (this.#disposing) return Promise.reject(disposedError("context"));
    if (!this.info.evalHook) {
      return Promise.reject(new LlamaError("activation capture needs a context created with evalHook", "ERR_INVALID_ARGUMENT"));
    }
    if (!Array.isArray(prompts) || prompts.some((p) => !(p instanceof Uint32Array) || p.length === 0)) {
      return Promise.reject(new TypeError("Expected an array of non-empty Uint32Array prompts"));
    }
    if (this.#running) {
      return Promise.reject(new LlamaError("another generation is running on this context; await it or use another context", "ERR_CONTEXT_BUSY"));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new GenerationAbortedError("the capture was aborted before it started"));
    const callSite = new Error();
    const onAbort = () => this._native.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const run = (async () => {
      try {
        return await this._native.capture([...prompts], { layers: [...options.layers], allRows: options.allRows ?? false, lastRows: options.lastRows ?? 1 });
      } catch (error) {
        if ((error as LlamaError).code === "ERR_ABORTED") throw new GenerationAbortedError("the capture was aborted", undefined, { cause: error });
        throw error;
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    })();
    this.#running = run
      .finally(() => {
        this.#running = undefined;
      })
      .catch(() => {});
    return withCallSite(run, callSite);
  }

  /** Sets llama.cpp's control vector: n_embd floats per layer for layers 1..n (null clears). @internal */
  _setControlVector(data: Float32Array | null, layerStart = 0, layerEnd = 0): void {
    this.#checkIdle();
    this._native.setControlVector(data, layerStart, layerEnd);
  }

  /** Aborts a running generation, waits for it, then frees the context. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      if (this.#running) {
        this._native.abort();
        await this.#running;
      }
      await this._native.dispose();
      this.model._forget(this);
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #checkIdle(): void {
    if (this.#disposing) throw disposedError("context");
    if (this.#running) throw new LlamaError("a generation is running on this context", "ERR_CONTEXT_BUSY");
  }
}

function maxThreads(): number {
  return Math.max(1, os.availableParallelism());
}

let physicalCores: number | undefined;
function defaultThreads(): number {
  if (physicalCores === undefined) {
    physicalCores = maxThreads();
    try {
      // One "physical id"/"core id" pair per core; hyper-threads repeat the pair.
      const cores = new Set<string>();
      let socket = "";
      for (const line of readFileSync("/proc/cpuinfo", "utf8").split("\n")) {
        const [key, value] = line.split(":").map((x) => x.trim());
        if (key === "physical id") socket = value ?? "";
        if (key === "core id") cores.add(`${socket}:${value}`);
      }
      if (cores.size > 0) physicalCores = Math.min(cores.size, physicalCores);
    } catch {
      // Not Linux: the logical count.
    }
  }
  return physicalCores;
}

/** Uint32Array.from would coerce 1.7 to 1, NaN and 'a' to 0 and 2^32+1 to 1: the first bad token id, as an error. */
function promptTokenError(tokens: readonly Token[], vocabSize: number): Error | undefined {
  const bad = tokens.findIndex((t) => typeof t !== "number" || !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad < 0) return undefined;
  const t = tokens[bad] as unknown;
  return typeof t !== "number" || !Number.isInteger(t)
    ? new TypeError(`prompt token ${bad} is ${typeof t === "string" ? `'${t}'` : String(t)}, not an integer token id`)
    : new RangeError(`prompt token ${bad} is ${t}, outside the vocabulary (0..${vocabSize - 1})`);
}
