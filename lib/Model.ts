// LlamaModel: a GGUF model loaded by llama.cpp, its metadata, tokenizer and chat template.
import { resolve } from "node:path";
import { getBinding, type NativeModel, type NativeModelMetadata } from "./binding.js";
import { resolveChatTemplate, type ChatTemplate } from "./chatTemplate.js";
import { LlamaContext, type ContextOptions } from "./Context.js";
import { gpuFromEnvironment, selectGpu, type DeviceInfo, type GpuChoice, type GpuKind, type GpuSelection } from "./gpu.js";
import { disposedError, GenerationAbortedError, LlamaError, withCallSite } from "./errors.js";

export type Token = number;

export interface ModelOptions {
  /**
   * Where the model runs: `"auto"` takes the first GPU backend that loads and sees a device (Metal
   * on macOS, else CUDA, then Vulkan, from the node-llama-cpp platform package installed beside
   * us) and falls back to the CPU with a warning through the logger; `"cuda"`, `"vulkan"`,
   * `"metal"` insist (ERR_GPU_UNAVAILABLE saying why not); `false` keeps everything on the CPU.
   * Defaults to `"auto"`, or the `INFERALIGNER_GPU` environment variable (`false`/`cpu` for the CPU).
   */
  gpu?: GpuChoice;
  /** Layers to offload to the GPU (`n_gpu_layers`); -1 = all. Defaults to llama.cpp's default (all, when a GPU is used). */
  gpuLayers?: number;
  /** Memory-map the file (`load_mode`). Defaults to llama.cpp's automatic choice. */
  useMmap?: boolean;
  /** Lock the weights in RAM (`load_mode` mlock). Defaults to `false`. */
  useMlock?: boolean;
  /** Stops the load: it rejects with ERR_ABORTED (at once if already aborted). */
  signal?: AbortSignal;
  /**
   * Called with llama.cpp's load progress, a fraction from 0 to 1, about once per percent. What it
   * throws stops the load, and the load rejects with that error.
   */
  onProgress?: (fraction: number) => void;
  /**
   * Let the CPU backend repack quantized weights for its faster batched kernels
   * (`use_extra_bufts`). Those kernels round differently for a row depending on the rows around
   * it, so a prompt's activations then depend slightly on what shares its batch. Defaults to `true`.
   */
  repack?: boolean;
}

export interface SpecialTokens {
  bos: Token | null;
  eos: Token | null;
  /** End of turn (e.g. Gemma's `<end_of_turn>`). */
  eot: Token | null;
  nl: Token | null;
  pad: Token | null;
  /** Whether the tokenizer adds BOS to a fresh sequence. */
  addBos: boolean;
  addEos: boolean;
  /** Every token that ends generation. */
  endOfGeneration: Token[];
}

/** What the GGUF says about the model. */
export interface ModelInfo {
  /** `general.architecture`, e.g. `llama`, `gemma3`. */
  architecture: string;
  name: string;
  description: string;
  /** Number of transformer blocks (`n_layer`). */
  layerCount: number;
  /** Width of the residual stream (`n_embd`). */
  embeddingLength: number;
  /** Context length the model was trained with. */
  contextLength: number;
  headCount: number;
  headCountKv: number;
  /** Sliding-window size of SWA layers; 0 when the model has none. */
  slidingWindow: number;
  vocabSize: number;
  parameterCount: number;
  sizeBytes: number;
  /** The Jinja chat template stored in the GGUF (`tokenizer.chat_template`), if any. */
  chatTemplate: string | null;
  specialTokens: SpecialTokens;
  /** All scalar GGUF metadata, as strings. */
  metadata: Readonly<Record<string, string>>;
  /** Where the model runs: the GPU backend chosen at load (see ModelOptions.gpu), or `"cpu"`. */
  backend: GpuKind | "cpu";
  /** The GPU devices the model was given (empty on the CPU). */
  devices: DeviceInfo[];
}

export interface TokenizeOptions {
  /** Add BOS/EOS as the model's tokenizer does. Defaults to `true`. */
  addSpecial?: boolean;
  /** Turn special-token text such as `<start_of_turn>` into the special token. Defaults to `false`. */
  parseSpecial?: boolean;
}

function toInfo(m: NativeModelMetadata, gpu: GpuSelection): ModelInfo {
  // The model's shape as the public type lists it; what only the addon needs stays out.
  const { specialTokens: s, maxTokenTextBytes: _bytes, isRecurrent: _recurrent, hasEncoder: _encoder, ...rest } = m;
  return {
    ...rest,
    backend: gpu.backend,
    devices: gpu.devices.map((d) => ({ ...d })),
    specialTokens: {
      bos: s.bos,
      eos: s.eos,
      eot: s.eot,
      nl: s.nl,
      pad: s.pad,
      addBos: s.addBos,
      addEos: s.addEos,
      endOfGeneration: Array.from(s.eog),
    },
  };
}

/** Runs the native load with the options' AbortSignal and progress listener wired in. */
async function loadWithSignal(model: NativeModel, options: ModelOptions): Promise<void> {
  const { signal, onProgress } = options;
  if (signal?.aborted) throw new LlamaError("the model load was aborted before it started", "ERR_ABORTED");
  let listenerError: { error: unknown } | undefined;
  const listener = onProgress
    ? (fraction: number) => {
        if (listenerError) return;
        try {
          onProgress(fraction);
        } catch (error) {
          listenerError = { error };
          model.abortLoad();
        }
      }
    : undefined;
  const abort = () => model.abortLoad();
  signal?.addEventListener("abort", abort, { once: true });
  try {
    await model.load(listener);
  } catch (error) {
    if (listenerError) throw listenerError.error;
    throw error;
  } finally {
    signal?.removeEventListener("abort", abort);
  }
  if (listenerError) {
    // The listener threw after the last progress call: the model loaded, but the caller asked to stop.
    await model.dispose();
    throw listenerError.error;
  }
}

export class LlamaModel {
  /** Absolute path of the GGUF file. */
  readonly path: string;
  readonly info: ModelInfo;
  /** @internal */
  readonly _native: NativeModel;
  readonly #contexts = new Set<LlamaContext>();
  readonly #creating = new Set<Promise<LlamaContext>>();
  readonly #tokenizing = new Set<Promise<unknown>>();
  readonly #maxTokenTextBytes: number;
  #chatTemplate: ChatTemplate | undefined;
  #disposing: Promise<void> | undefined;

  private constructor(path: string, native: NativeModel, gpu: GpuSelection) {
    this.path = path;
    this._native = native;
    const metadata = native.metadata();
    this.info = toInfo(metadata, gpu);
    this.#maxTokenTextBytes = metadata.maxTokenTextBytes;
  }

  /**
   * Loads a GGUF model off the JS thread.
   * @example const model = await LlamaModel.load("gemma-3-270m.gguf");
   */
  static async load(path: string, options: ModelOptions = {}): Promise<LlamaModel> {
    if (typeof path !== "string" || path.length === 0) throw new TypeError("Expected a model path (string)");
    if (options.gpuLayers !== undefined && !Number.isInteger(options.gpuLayers)) throw new TypeError("Expected an integer for gpuLayers");
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new TypeError("Expected a function for onProgress");
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) throw new TypeError("Expected an AbortSignal for signal");
    const callSite = new Error();
    const { native } = getBinding();
    const gpu = selectGpu(options.gpu ?? gpuFromEnvironment());
    const absolute = resolve(path);
    const model = new native.AddonModel(absolute, {
      devices: gpu.devices.map((d) => d.name),
      gpuLayers: options.gpuLayers,
      useMmap: options.useMmap,
      useMlock: options.useMlock,
      repack: options.repack,
    });
    await withCallSite(loadWithSignal(model, options), callSite);
    return new LlamaModel(absolute, model, gpu);
  }

  get disposed(): boolean {
    return this.#disposing !== undefined;
  }

  /** The chat template used to render conversations (see chatTemplate.ts for how it is chosen). */
  get chatTemplate(): ChatTemplate {
    this.#check();
    this.#chatTemplate ??= resolveChatTemplate(this);
    return this.#chatTemplate;
  }

  tokenize(text: string, options: TokenizeOptions = {}): Token[] {
    this.#check();
    if (typeof text !== "string") throw new TypeError("Expected a string to tokenize");
    return Array.from(this._native.tokenize(text, options.addSpecial ?? true, options.parseSpecial ?? false));
  }

  /**
   * Tokenizes off the JS thread (llama.cpp's tokenizers are superlinear on long texts without word
   * boundaries). With `limit`, a text that must be longer than `limit` tokens is refused before any
   * work (a text of B bytes is at least B / the longest vocabulary entry's bytes tokens), and one
   * that turns out longer after tokenizing is refused too: ERR_CONTEXT_OVERFLOW. An aborted `signal`
   * rejects at once; the native work then finishes unobserved (dispose() waits for it). @internal
   */
  _tokenizeAsync(text: string, options: TokenizeOptions & { limit?: number; signal?: AbortSignal } = {}): Promise<Token[]> {
    if (this.#disposing) return Promise.reject(disposedError("model"));
    if (typeof text !== "string") return Promise.reject(new TypeError("Expected a string to tokenize"));
    const { limit = 0, signal } = options;
    if (limit > 0) {
      const fewest = Math.ceil(Buffer.byteLength(text) / Math.max(4, this.#maxTokenTextBytes));
      if (fewest > limit) {
        return Promise.reject(
          new LlamaError(
            `the prompt is at least ${fewest} tokens (${Buffer.byteLength(text)} bytes), more than the context's ${limit}`,
            "ERR_CONTEXT_OVERFLOW",
          ),
        );
      }
    }
    if (signal?.aborted) return Promise.reject(new GenerationAbortedError("aborted before tokenizing"));
    const callSite = new Error();
    const work = this._native.tokenizeAsync(text, options.addSpecial ?? true, options.parseSpecial ?? false, limit);
    const tracked = work
      .then(
        () => {},
        () => {},
      )
      .finally(() => this.#tokenizing.delete(tracked));
    this.#tokenizing.add(tracked);
    const result = work.then((tokens) => Array.from(tokens));
    if (!signal) return withCallSite(result, callSite);
    return withCallSite(
      new Promise<Token[]>((resolve, reject) => {
        const onAbort = () => reject(new GenerationAbortedError("aborted while tokenizing the prompt"));
        signal.addEventListener("abort", onAbort, { once: true });
        result.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
      }),
      callSite,
    );
  }

  /** Text of the tokens; special tokens render as their text only with `renderSpecial`. */
  detokenize(tokens: readonly Token[] | Uint32Array, options: { renderSpecial?: boolean } = {}): string {
    this.#check();
    return this._native.detokenize(tokens instanceof Uint32Array ? tokens : Array.from(tokens), options.renderSpecial ?? false);
  }

  /** The vocabulary entry of a token, as stored in the GGUF. */
  tokenText(token: Token): string {
    this.#check();
    return this._native.tokenText(token);
  }

  isEndOfGeneration(token: Token): boolean {
    this.#check();
    return this._native.isEog(token);
  }

  /** Creates a context (KV cache + compute buffers) for this model. */
  async createContext(options: ContextOptions = {}): Promise<LlamaContext> {
    this.#check();
    // Registered as soon as it exists, so that a dispose() that started meanwhile frees it too.
    const creating = LlamaContext._create(this, options).then((context) => {
      this.#contexts.add(context);
      return context;
    });
    this.#creating.add(creating);
    try {
      const context = await creating;
      if (this.#disposing) throw disposedError("model");
      return context;
    } finally {
      this.#creating.delete(creating);
    }
  }

  /** @internal */
  _forget(context: LlamaContext): void {
    this.#contexts.delete(context);
  }

  /** Disposes every context of the model, then frees the model. Idempotent. */
  dispose(): Promise<void> {
    this.#disposing ??= (async () => {
      await Promise.allSettled([...this.#creating, ...this.#tokenizing]);
      await Promise.all([...this.#contexts].map((c) => c.dispose()));
      await this._native.dispose();
    })();
    return this.#disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  #check(): void {
    if (this.#disposing) throw disposedError("model");
  }
}
