// The files guidance reads, as it reads them: gate files (an InferAligner vector file of the target
// model) and steering files (a vector file of any model of this shape, or a plain llama.cpp control
// vector), given as paths or as objects already read. Paths are parsed once and re-read when the
// file changes; a gate file recorded from another model warns once.
import { statSync } from "node:fs";
import { basename } from "node:path";
import type { LlamaModel } from "./Model.js";
import { fileFingerprint } from "./vectors/fingerprint.js";
import { isControlVector, type ControlVector } from "./vectors/controlVector.js";
import { checkControlVectorFitsModel, checkVectorsFitModel, readSteeringFile, readVectorFile, type VectorFile } from "./vectors/vectorFile.js";

// Parsed files by path, re-read when the file changes (calibrate --save rewrites in place).
const fileCache = new Map<string, { stamp: string; file: VectorFile | ControlVector }>();
function readCached<T extends VectorFile | ControlVector>(path: string, role: "gate" | "steer", read: (path: string) => T): T {
  let stamp = "";
  try {
    const st = statSync(path);
    stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    // read() below reports the missing file.
  }
  // By role: a plain control vector is a steering file and must still be refused as a gate.
  const key = `${role}:${path}`;
  const hit = fileCache.get(key);
  if (hit && hit.stamp === stamp && stamp !== "") return hit.file as T;
  const file = read(path);
  fileCache.set(key, { stamp, file });
  return file;
}

function checkVectorObject(source: VectorFile, model: LlamaModel, what: string): VectorFile {
  if (source === null || typeof source !== "object") throw new TypeError(`Expected ${what}: a vector file path or a VectorFile`);
  const layers = (source as Partial<VectorFile>).layerCount;
  const complete = ["layers", "directions"].every(
    (k) => Array.isArray((source as unknown as Record<string, unknown>)[k]) && (source as unknown as Record<string, unknown[]>)[k]!.length === layers,
  );
  if (!complete || !(source as Partial<VectorFile>).suggested) {
    throw new TypeError(
      `Expected ${what} to be a VectorFile (readVectorFile's result): it needs layers and directions for each of its layerCount blocks, and suggested layers`,
    );
  }
  checkVectorsFitModel(source, model.info, what);
  return source;
}

/** A gate file: an InferAligner vector file of the target model. */
export function loadGateFile(source: string | VectorFile, model: LlamaModel, what: string): VectorFile {
  if (typeof source !== "string") return checkVectorObject(source, model, what);
  const file = readCached(source, "gate", (p) => readVectorFile(p));
  checkVectorsFitModel(file, model.info, source);
  return file;
}

/** A steering file: an InferAligner vector file (of any model of this shape) or a plain llama.cpp control vector. */
export function loadSteeringFile(source: string | VectorFile | ControlVector, model: LlamaModel): VectorFile | ControlVector {
  if (typeof source === "string") {
    const file = readCached(source, "steer", (p) => readSteeringFile(p));
    if (isControlVector(file)) checkControlVectorFitsModel(file, model.info, source);
    else checkVectorsFitModel(file, model.info, source);
    return file;
  }
  if (isControlVector(source)) {
    checkControlVectorFitsModel(source, model.info, "steer");
    return source;
  }
  return checkVectorObject(source as VectorFile, model, "steer");
}

/** A gate file's thresholds hold only for the activations of the model it was extracted from. */
export const OTHER_MODEL_GATE_WARNING = "INFERALIGNER_GATE_OF_ANOTHER_MODEL";
const warnedOtherModel = new Set<string>();
export function warnIfGateOfAnotherModel(file: VectorFile, model: LlamaModel, what: string): void {
  const recorded = file.source.fingerprint;
  if (!recorded) return; // written before fingerprints were recorded: nothing to compare
  let actual: string;
  try {
    actual = fileFingerprint(model.path);
  } catch {
    return; // the model file is gone (moved after loading): nothing to compare
  }
  const key = `${recorded}\0${model.path}`;
  if (recorded === actual || warnedOtherModel.has(key)) return;
  warnedOtherModel.add(key);
  process.emitWarning(
    `the ${what} file was extracted from ${file.source.fileName}, not from the model in use (${basename(model.path)}): ` +
      "its gate thresholds were set on another model's activations, so the gate may open or stay closed wrongly. " +
      "Extract the gate's vectors from this model (a cross-model setup steers with the other model's file: --steer)",
    { code: OTHER_MODEL_GATE_WARNING },
  );
}
