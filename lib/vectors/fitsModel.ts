// Whether a steering or gate file fits the model it is used with: a file made for another model
// shape is refused with ERR_VECTOR_MISMATCH (a clear error, never a silent misuse of the wrong
// widths or blocks).
import { LlamaError } from "../errors.js";
import type { ModelInfo } from "../Model.js";
import type { ControlVector } from "./controlVector.js";
import type { VectorFile } from "./vectorFileFormat.js";

/** A vector file made for another model shape is refused (a clear error, never a silent misuse). */
export function checkVectorsFitModel(v: VectorFile, info: ModelInfo, path = "vectors"): void {
  if (v.embeddingLength !== info.embeddingLength || v.layerCount !== info.layerCount) {
    throw new LlamaError(
      `vector file '${path}' was made for a ${v.source.architecture} model with ${v.layerCount} layers of width ${v.embeddingLength} ` +
        `(${v.source.fileName}); this model (${info.architecture}) has ${info.layerCount} layers of width ${info.embeddingLength}`,
      "ERR_VECTOR_MISMATCH",
    );
  }
}

/** A plain control vector made for another model shape is refused, as a vector file is. */
export function checkControlVectorFitsModel(cv: ControlVector, info: ModelInfo, path = "control vector"): void {
  if (cv.embeddingLength !== info.embeddingLength || cv.layerCount > info.layerCount || (cv.modelHint !== "" && cv.modelHint !== info.architecture)) {
    throw new LlamaError(
      `${path} is a control vector for ${cv.modelHint || "a model"} with ${cv.embeddingLength}-wide directions up to block ${cv.layerCount - 1}, ` +
        `but the model is ${info.architecture} with ${info.layerCount} blocks of ${info.embeddingLength}`,
      "ERR_VECTOR_MISMATCH",
    );
  }
}
