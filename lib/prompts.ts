// Reading prompt sets from files. This format: a JSON array of strings (later formats
// widen it). Errors name the file and what was wrong.
import { readFileSync } from "node:fs";
import { LlamaError } from "./errors.js";

export function readPromptFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new LlamaError(`cannot read prompt file '${path}': ${(error as Error).message}`, "ERR_INVALID_ARGUMENT", 0, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new LlamaError(`prompt file '${path}' is not valid JSON: ${(error as Error).message}`, "ERR_INVALID_ARGUMENT", 0, { cause: error });
  }
  if (!Array.isArray(data)) throw new LlamaError(`prompt file '${path}' must hold a JSON array`, "ERR_INVALID_ARGUMENT");
  const prompts = data.map((item, i) => {
    if (typeof item === "string") return item;
    // Objects with a usual text field are accepted too (e.g. {"instruction": ...}).
    if (item && typeof item === "object") {
      for (const key of ["instruction", "prompt", "goal", "text"]) {
        const value = (item as Record<string, unknown>)[key];
        if (typeof value === "string") return value;
      }
    }
    throw new LlamaError(`prompt file '${path}': item ${i} is neither a string nor an object with a text field`, "ERR_INVALID_ARGUMENT");
  });
  const nonEmpty = prompts.filter((p) => p.trim().length > 0);
  if (nonEmpty.length === 0) throw new LlamaError(`prompt file '${path}' holds no prompts`, "ERR_INVALID_ARGUMENT");
  return nonEmpty;
}
