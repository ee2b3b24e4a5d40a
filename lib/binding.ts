// Finds and loads the native addon, and types what it exports.
// Order: INFERALIGNER_BINARY, then build/Release/ (a local build is deliberate: it wins), then
// prebuilds/<platform>-<arch>/ shipped in the package. Prebuilt builds keep llama.cpp's libraries beside the .node file,
// and the ggml backends (CPU variants, GPU) are loaded from that same folder.
import type { ContextInfo } from "./Context.js";
import type { DeviceInfo } from "./gpu.js";
import type { ModelInfo } from "./Model.js";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaError } from "./errors.js";
import { NATIVE_LOG_LEVELS, watchLogger } from "./log.js";

const require = createRequire(import.meta.url);
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface NativeModelOptions {
  gpuLayers?: number;
  /** Names of the devices to use ([]: the CPU only); absent: every device, llama.cpp's default. */
  devices?: string[];
  useMmap?: boolean;
  useMlock?: boolean;
  vocabOnly?: boolean;
  repack?: boolean;
}

export interface NativeSpecialTokens {
  bos: number | null;
  eos: number | null;
  eot: number | null;
  nl: number | null;
  pad: number | null;
  addBos: boolean;
  addEos: boolean;
  eog: Uint32Array;
}

/** What the addon reports of a loaded model: ModelInfo's fields, with the native forms of a few. */
export type NativeModelMetadata = Omit<ModelInfo, "specialTokens" | "metadata"> & {
  /** Bytes of the longest vocabulary entry: a text of B bytes is at least B / this many tokens. */
  maxTokenTextBytes: number;
  isRecurrent: boolean;
  hasEncoder: boolean;
  specialTokens: NativeSpecialTokens;
  metadata: Record<string, string>;
};

export interface NativeModel {
  /** `onProgress` gets llama.cpp's load progress, 0 to 1 (about one call per percent). */
  load(onProgress?: (fraction: number) => void): Promise<void>;
  /** A running load stops at llama.cpp's next progress call and rejects with ERR_ABORTED. */
  abortLoad(): void;
  metadata(): NativeModelMetadata;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Uint32Array;
  /** Off the JS thread; `limit` > 0: more tokens is ERR_CONTEXT_OVERFLOW. */
  tokenizeAsync(text: string, addSpecial: boolean, parseSpecial: boolean, limit: number): Promise<Uint32Array>;
  detokenize(tokens: Uint32Array | readonly number[], renderSpecial: boolean): string;
  tokenText(token: number): string;
  isEog(token: number): boolean;
  applyBuiltinTemplate(template: string, messages: ReadonlyArray<{ role: string; content: string }>, addAssistant: boolean): string;
  dispose(): Promise<void>;
  readonly disposed: boolean;
}

export interface NativeContextOptions {
  contextSize?: number;
  batchSize?: number;
  ubatchSize?: number;
  sequences?: number;
  threads?: number;
  threadsBatch?: number;
  swaFull?: boolean;
  kvUnified?: boolean;
  /** -1 auto, 0 off, 1 on */
  flashAttention?: number;
  evalHook?: boolean;
}

export interface NativeGuidance {
  mode: "steer" | "refuse" | "monitor" | "off";
  score: "cosine" | "projection";
  gateLayers: number[];
  gateDirections: Float32Array[];
  thresholds: number[];
  gateRule: "majority" | "any";
  /** The gate reads the mean of the prompt's last N rows at each gate block (1: the last row). */
  gatePoolTokens?: number;
  steerLayers: number[];
  steerShifts: Float32Array[];
  /** Add the shift with the eval hook on every steered layer instead of llama.cpp's control vector. */
  shiftByHook?: boolean;
  /** Decide the gate and shift in the prompt's own pass where possible (default true); false: the rollback path. */
  onePass?: boolean;
}

export interface NativeGenerateOptions {
  guidance?: NativeGuidance;
  /** Prompt tokens that belong to earlier turns: an open gate re-steers everything after them. */
  turnStart?: number;
  maxTokens?: number;
  stop?: string[];
  captureLogits?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  seed?: number;
}

export type NativeStopReason = "eog" | "maxTokens" | "stop" | "contextFull" | "abort" | "refused";

export interface NativeGenerateResult {
  tokens: Uint32Array;
  text: string;
  stopReason: NativeStopReason;
  stopString?: string;
  reusedTokenCount: number;
  promptTokenCount: number;
  evaluatedTokenCount: number;
  promptMs: number;
  generationMs: number;
  logits?: Float32Array[];
  gate?: { open: boolean; mode: string; scores: number[] };
}

export type NativeContextInfo = ContextInfo;

export interface NativeCaptureResult {
  /** [prompt][layer][lastRows][n_embd] at each prompt's last tokens; with allRows, [layer][token][n_embd]. */
  rows: Float32Array;
  decodes: number;
  tokens: number;
  ms: number;
}

export interface NativeContext {
  init(): Promise<void>;
  info(): NativeContextInfo;
  generate(prompt: Uint32Array, options: NativeGenerateOptions, onToken?: (token: number | null, text: string) => void): Promise<NativeGenerateResult>;
  abort(): void;
  tokens(): Uint32Array;
  clear(): void;
  setControlVector(data: Float32Array | null, layerStart?: number, layerEnd?: number): void;
  capture(prompts: Uint32Array[], options: { layers: number[]; allRows?: boolean; lastRows?: number }): Promise<NativeCaptureResult>;
  setLayerShift(layer: number, shift: Float32Array | null): void;
  dispose(): Promise<void>;
  readonly busy: boolean;
}

/** A device as the addon lists it: the public DeviceInfo. */
export type NativeDevice = DeviceInfo;

export interface NativeProbeSettings {
  l2: number;
  wholeIterations: number;
  foldIterations: number;
  /** 0 or 1: the whole fit only. At most the size of either class. */
  folds: number;
}

export interface NativeBinding {
  loadBackends(dir: string | null): NativeDevice[];
  /** Loads one backend library (once per path); every device registered afterwards. */
  loadBackendFile(path: string): { error: string | null; devices: NativeDevice[] };
  setLogLevel(level: number): void;
  /** llama.cpp's log lines (at the level set) go to `handler(level 1-4, text)`; null: stderr. */
  setLogHandler(handler: ((level: number, text: string) => void) | null): void;
  setErrorClass(ctor: new (message: string, code: string, status: number) => Error): void;
  systemInfo(): { llamaSystemInfo: string; supportsGpuOffload: boolean; supportsMmap: boolean; buildMode: "prebuilt" | "source" };
  /**
   * One block's gate probe (native/Probe.h): harmful and harmless rows of `d` values each; resolves
   * to (1 + folds) x d, the whole fit's unit direction, then each fold's (fitted without it).
   */
  fitGateProbe(harmful: Float32Array, harmless: Float32Array, d: number, settings: NativeProbeSettings): Promise<Float32Array>;
  AddonModel: new (path: string, options: NativeModelOptions) => NativeModel;
  AddonContext: new (model: NativeModel, options: NativeContextOptions) => NativeContext;
}

export interface LoadedBinding {
  native: NativeBinding;
  /** The .node file that was loaded. */
  path: string;
  /** Every device the loaded backends see (GPU backends loaded later add theirs: lib/gpu.ts). */
  devices: NativeDevice[];
}

let loaded: LoadedBinding | undefined;

/**
 * In an Electron app the package may sit inside an asar archive, which Node's fs reads but the
 * dynamic loader cannot: native files are unpacked beside it (electron-builder's `asarUnpack`,
 * electron-forge's `unpack`) under `<name>.asar.unpacked`.
 */
export function unpackedPath(path: string): string {
  return path.replace(/\.asar([\\/])/g, ".asar.unpacked$1");
}

function candidatePaths(): string[] {
  const fromEnv = process.env.INFERALIGNER_BINARY;
  if (fromEnv) return [unpackedPath(resolve(fromEnv))];
  const prebuilds = unpackedPath(join(packageRoot, "prebuilds", `${process.platform}-${process.arch}`));
  // prebuildify names the file after the package (inferaligner.node) or with tags (*.napi.node).
  const shipped = existsSync(prebuilds)
    ? readdirSync(prebuilds)
        .filter((f) => f.endsWith(".node"))
        .sort((a, b) => a.length - b.length)
    : [];
  return [
    unpackedPath(join(packageRoot, "build", "Release", "inferaligner.node")),
    ...(shipped.length > 0 ? shipped.map((f) => join(prebuilds, f)) : [join(prebuilds, "inferaligner.node")]),
  ];
}

/** Loads the addon once per process (or per worker thread) and initialises its backends. */
export function getBinding(): LoadedBinding {
  if (loaded) return loaded;
  const failures: string[] = [];
  for (const path of candidatePaths()) {
    if (!existsSync(path)) {
      failures.push(`${path}: not found`);
      continue;
    }
    let native: NativeBinding;
    try {
      native = require(path) as NativeBinding;
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message}`);
      continue;
    }
    native.setErrorClass(LlamaError as unknown as new (message: string, code: string, status: number) => Error);
    const level = process.env.INFERALIGNER_LOG_LEVEL;
    if (level) native.setLogLevel(Number(level));
    const devices = native.loadBackends(dirname(path));
    // Without a backend every model load would fail later with a misleading message.
    if (devices.length === 0) {
      failures.push(`${path}: no llama.cpp backend (libggml-cpu*, ...) loaded from ${dirname(path)}`);
      continue;
    }
    // llama.cpp's log reaches the user's logger (setLogger), when there is one.
    watchLogger((handler) => native.setLogHandler(handler ? (rank, text) => handler(NATIVE_LOG_LEVELS[rank] ?? "info", text) : null));
    loaded = { native, path, devices };
    return loaded;
  }
  throw new LlamaError(
    "the inferaligner native addon could not be loaded. Tried:\n  " +
      failures.join("\n  ") +
      "\nThe package ships a prebuilt addon for linux-x64 only; elsewhere build it with `npm run build:native` in the " +
      "package folder (needs cmake, a C++17 compiler, git, and node-llama-cpp and cmake-js installed beside it), " +
      "or set INFERALIGNER_BINARY to a built inferaligner.node.",
    "ERR_BINDING",
  );
}

/** llama.cpp log verbosity on stderr: 0 none (default), 1 errors, 2 warnings, 3 info, 4 debug. */
export function setLogLevel(level: 0 | 1 | 2 | 3 | 4): void {
  if (!Number.isInteger(level) || level < 0 || level > 4) throw new RangeError(`setLogLevel takes 0 (silent) to 4 (debug), not ${String(level)}`);
  getBinding().native.setLogLevel(level);
}
