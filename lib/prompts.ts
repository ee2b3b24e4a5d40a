// Reading prompt sets from files: JSON (an array of strings or objects), JSON Lines (one string or
// object a line), CSV (RFC 4180, with a header row) and plain text (one prompt a line). For objects
// and CSV rows the text field is found from a fixed list of usual names, or given explicitly.
// Prompts are kept verbatim (nothing is trimmed); empty ones are skipped and exact duplicates
// dropped. Every problem with the file is a LlamaError with code ERR_INVALID_ARGUMENT that names
// the file and, where there is one, the line. Reading the records of each format is promptRows.ts.
import { promptFileError, readPromptRows, type PromptFileFormat, type PromptRow } from "./promptRows.js";

export { parseCsv } from "./csv.js";
export type { PromptFileFormat, PromptRow } from "./promptRows.js";

/** The fields looked for, in this order, when no `field` is given. */
export const PROMPT_TEXT_FIELDS: readonly string[] = Object.freeze(["instruction", "prompt", "goal", "text", "Behavior", "forbidden_prompt"]);

export interface PromptFileOptions {
  /** The field holding the prompt in objects and CSV rows; found automatically when absent. */
  field?: string;
  /** Keep only the first `limit` prompts (after empties and duplicates are removed). */
  limit?: number;
  /**
   * Keep only the records for which this returns true (applied before everything else), e.g.
   * `(row) => typeof row !== "string" && row.label === "safe"`. `index` is the record's index.
   */
  filter?: (row: PromptRow, index: number) => boolean;
}

export interface PromptSet {
  prompts: string[];
  /** Records left out: `index` is the record's 0-based index in the file (see `loadRows`). */
  skipped: { index: number; reason: string }[];
  /** The path the set was read from, as given. */
  source: string;
  /** How many exact duplicates were dropped. */
  duplicates: number;
  format: PromptFileFormat;
  /** The field the prompts were read from (undefined when every record was a plain string). */
  field: string | undefined;
}

/**
 * The records of a prompt file, unfiltered: strings, objects (JSON, JSON Lines) or, for CSV, one
 * object a data row mapping each header name to its string value. Empty lines are not records.
 */
export function loadRows(path: string): PromptRow[] {
  return readPromptRows(path).rows;
}

/** Reads a prompt set from a .json, .jsonl, .csv or .txt file (see the file's header). */
export function loadPromptSet(path: string, options: PromptFileOptions = {}): PromptSet {
  checkOptions(options);
  const { field: explicit, limit, filter } = options;
  const { format, rows, lines, header } = readPromptRows(path);
  if (rows.length === 0) throw promptFileError(`prompt file '${path}' holds no prompts`);
  const field = pickField(path, rows, header, explicit);
  const picked = pickPrompts(path, rows, { field, lines, filter });
  if (picked.kept === 0) throw promptFileError(`prompt file '${path}' holds no prompts${filter ? " that pass the filter" : ""}`);
  const { prompts, skipped, duplicates } = picked;
  if (prompts.length === 0) {
    throw promptFileError(`prompt file '${path}' holds no usable prompts: ${picked.kept} record(s), ${picked.empty} empty, ${duplicates} duplicate(s)`);
  }
  if (limit !== undefined && prompts.length > limit) prompts.length = limit;
  return { prompts, skipped, source: path, duplicates, format, field };
}

/** The prompts of a prompt file (`loadPromptSet(path, options).prompts`). */
export function readPromptFile(path: string, options?: PromptFileOptions): string[] {
  return loadPromptSet(path, options).prompts;
}

/** Misuse of the options is a TypeError or RangeError, thrown before the file is read. */
function checkOptions({ field, limit, filter }: PromptFileOptions): void {
  if (field !== undefined && (typeof field !== "string" || field === "")) throw new TypeError("options.field must be a non-empty string");
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`options.limit must be a positive integer (got ${String(limit)})`);
  if (filter !== undefined && typeof filter !== "function") throw new TypeError("options.filter must be a function");
}

/** The field that holds the prompts: the explicit one, else the first of PROMPT_TEXT_FIELDS present (exact, then any case). */
function pickField(path: string, rows: readonly PromptRow[], header: string[] | undefined, explicit: string | undefined): string | undefined {
  const present = header ?? objectKeys(rows);
  if (present === undefined) return undefined; // strings only
  const list = present.length ? present.map((k) => `'${k}'`).join(", ") : "none";
  if (explicit !== undefined) {
    if (!present.includes(explicit)) throw promptFileError(`prompt file '${path}' has no field '${explicit}' (fields present: ${list})`);
    return explicit;
  }
  const exact = PROMPT_TEXT_FIELDS.find((name) => present.includes(name));
  if (exact !== undefined) return exact;
  for (const name of PROMPT_TEXT_FIELDS) {
    const match = present.find((k) => k.toLowerCase() === name.toLowerCase());
    if (match !== undefined) return match;
  }
  throw promptFileError(
    `prompt file '${path}' has no prompt text field: looked for ${PROMPT_TEXT_FIELDS.map((k) => `'${k}'`).join(", ")}; fields present: ${list}. Name the field explicitly (the 'field' option).`,
  );
}

/** Every key of the object records, in first-seen order; undefined when every record is a string. */
function objectKeys(rows: readonly PromptRow[]): string[] | undefined {
  const keys = new Set<string>();
  for (const row of rows) if (typeof row !== "string") for (const key of Object.keys(row)) keys.add(key);
  return keys.size === 0 ? undefined : [...keys];
}

interface PickedPrompts {
  prompts: string[];
  skipped: { index: number; reason: string }[];
  /** Records that passed the filter. */
  kept: number;
  /** Records without a value or with a blank one. */
  empty: number;
  duplicates: number;
}

/** The prompts of the records that pass the filter: empty ones skipped (with the reason), repeats counted. */
function pickPrompts(
  path: string,
  rows: readonly PromptRow[],
  { field, lines, filter }: { field: string | undefined; lines: number[] | undefined; filter: PromptFileOptions["filter"] },
): PickedPrompts {
  const at = (i: number) => (lines ? ` (line ${lines[i]})` : "");
  const picked: PickedPrompts = { prompts: [], skipped: [], kept: 0, empty: 0, duplicates: 0 };
  const seen = new Set<string>();
  rows.forEach((row, index) => {
    if (filter !== undefined && !filter(row, index)) return;
    picked.kept++;
    const text = promptText(path, row, field, `record ${index}${at(index)}`);
    const reason = text === undefined ? `no '${field}' value` : text.trim() === "" ? "empty prompt" : undefined;
    if (reason !== undefined) {
      picked.skipped.push({ index, reason: `${reason}${at(index)}` });
      picked.empty++;
    } else if (seen.has(text!)) {
      picked.duplicates++;
    } else {
      seen.add(text!);
      picked.prompts.push(text!);
    }
  });
  return picked;
}

/** A record's prompt: the string itself, or its field's value (undefined when the value is absent or null). */
function promptText(path: string, row: PromptRow, field: string | undefined, where: string): string | undefined {
  if (typeof row === "string") return row;
  const value = field === undefined ? undefined : row[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string")
    throw promptFileError(`prompt file '${path}': ${where}: field '${field}' holds ${Array.isArray(value) ? "an array" : `a ${typeof value}`}, not a string`);
  return value;
}
