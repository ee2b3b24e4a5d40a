// Plain llama.cpp control vectors (cvector-generator's output, or any file llama.cpp's
// --control-vector reads): `general.architecture = "controlvector"`, `controlvector.model_hint`,
// and one F32 tensor `direction.<block>` per steered block (block >= 1; llama.cpp adds it to that
// block's output). They carry no gate (no thresholds, no class means) and no activation norms, so
// they can steer but not gate, and their strength is absolute: the stored vector times alpha
// (default 1, as llama.cpp's --control-vector; --control-vector-scaled's scale is alpha).
import { LlamaError } from "../errors.js";
import { GgufFormatError, readGguf, type GgufFile } from "../gguf/reader.js";

export interface ControlVector {
  kind: "controlvector";
  path: string;
  /** `controlvector.model_hint`: the architecture it was made for ("" when absent). */
  modelHint: string;
  /** Blocks of the model it fits, at least: the highest direction's block + 1 (cvector-generator's `controlvector.layer_count` counts the directions, one less than the model's blocks). */
  layerCount: number;
  embeddingLength: number;
  /** By block; null where the file has no direction (block 0 always). Not normalised: used as stored. */
  directions: Array<Float32Array | null>;
  /** The blocks that have a non-zero direction: the default steered range, as llama.cpp applies them. */
  layers: number[];
}

/** Whether a steering source is a plain control vector (readControlVector's result). */
export function isControlVector(x: unknown): x is ControlVector {
  return x !== null && typeof x === "object" && (x as Partial<ControlVector>).kind === "controlvector";
}

/** True for a control vector without InferAligner's metadata. */
export function isPlainControlVector(file: GgufFile): boolean {
  return file.metadata.get("general.architecture") === "controlvector" && !file.metadata.has("inferaligner.format_version");
}

const fail = (path: string, message: string) => new LlamaError(`control vector '${path}': ${message}`, "ERR_VECTOR_FILE");

/** Reads a plain llama.cpp control vector; `file` when the caller has parsed it already. */
export function readControlVector(path: string, file?: GgufFile): ControlVector {
  if (!file) {
    try {
      file = readGguf(path);
    } catch (error) {
      if (error instanceof GgufFormatError) throw fail(path, error.message);
      throw new LlamaError(`cannot read control vector '${path}': ${(error as Error).message}`, "ERR_VECTOR_FILE", 0, { cause: error });
    }
  }
  if (file.metadata.get("general.architecture") !== "controlvector") throw fail(path, 'general.architecture is not "controlvector"');
  const hint = file.metadata.get("controlvector.model_hint");
  const declared = file.metadata.get("controlvector.layer_count");
  const byBlock = new Map<number, Float32Array>();
  let width = 0;
  // As llama.cpp's loader (common_control_vector_load_one): every tensor is a direction.<block>
  // (block >= 1), F32, one dimension (trailing dimensions of 1 allowed), all of one width; a block
  // given twice is the sum of its directions.
  for (const t of file.tensors) {
    const m = /^direction\.(\d+)$/.exec(t.name);
    if (!m) throw fail(path, `tensor ${t.name} is not a direction.<block> (llama.cpp refuses such a file too)`);
    const block = Number(m[1]);
    if (block < 1 || block > 4096) throw fail(path, `${t.name}: block ${block} (llama.cpp's directions start at block 1)`);
    const [n, ...rest] = t.shape;
    if (n === undefined || n < 1 || rest.some((d) => d !== 1)) throw fail(path, `${t.name} has shape [${t.shape}], expected one dimension`);
    if (width !== 0 && n !== width) throw fail(path, `${t.name} has ${n} values, the others ${width}`);
    width = n;
    let data: Float32Array;
    try {
      data = file.readF32(t.name);
    } catch (error) {
      throw fail(path, (error as Error).message);
    }
    if (!data.every(Number.isFinite)) throw fail(path, `${t.name} has a value that is not finite (NaN or infinity)`);
    const previous = byBlock.get(block);
    if (previous) previous.forEach((x, i) => (previous[i] = x + data[i]!));
    else byBlock.set(block, data);
  }
  if (byBlock.size === 0) throw fail(path, "no direction.<block> tensors");
  const highest = Math.max(...byBlock.keys());
  const layerCount = typeof declared === "number" && Number.isInteger(declared) && declared > highest ? declared : highest + 1;
  const directions = Array.from({ length: layerCount }, (_, l) => byBlock.get(l) ?? null);
  const layers = directions.flatMap((d, l) => (d && d.some((x) => x !== 0) ? [l] : []));
  if (layers.length === 0) throw fail(path, "every direction is zero");
  return { kind: "controlvector", path, modelHint: typeof hint === "string" ? hint : "", layerCount, embeddingLength: width, directions, layers };
}
