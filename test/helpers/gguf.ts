// The GGUF writer lives in the library (vector files use it); tests import it from here.
export * from "../../lib/gguf/writer.js";
