// Reading prompt sets from files: JSON (an array of strings or objects), JSON Lines (one string or
// object a line), CSV (RFC 4180, with a header row) and plain text (one prompt a line). For objects
// and CSV rows the text field is found from a fixed list of usual names, or given explicitly.
// Prompts are kept verbatim (nothing is trimmed); empty ones are skipped and exact duplicates
// dropped. Every problem with the file is a LlamaError with code ERR_INVALID_ARGUMENT that names
// the file and, where there is one, the line.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { LlamaError } from "./errors.js";

/** The fields looked for, in this order, when no `field` is given. */
export const PROMPT_TEXT_FIELDS: readonly string[] = Object.freeze(["instruction", "prompt", "goal", "text", "Behavior", "forbidden_prompt"]);

export type PromptFileFormat = "json" | "jsonl" | "csv" | "txt";

/** One record of a prompt file: a string, or an object (a CSV row maps every header to a string). */
export type PromptRow = string | Readonly<Record<string, unknown>>;

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

interface Rows {
  format: PromptFileFormat;
  rows: PromptRow[];
  /** 1-based line where each record starts (line-based formats and CSV only). */
  lines: number[] | undefined;
  /** CSV only: the header row. */
  header: string[] | undefined;
}

function invalid(message: string, cause?: unknown): LlamaError {
  return new LlamaError(message, "ERR_INVALID_ARGUMENT", 0, cause === undefined ? undefined : { cause });
}

function formatOf(path: string): PromptFileFormat {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case ".json":
      return "json";
    case ".jsonl":
    case ".ndjson":
      return "jsonl";
    case ".csv":
      return "csv";
    case ".txt":
      return "txt";
    default:
      throw invalid(`prompt file '${path}' has ${ext ? `an unknown extension '${ext}'` : "no extension"} (expected .json, .jsonl, .csv or .txt)`);
  }
}

function readText(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw invalid(`cannot read prompt file '${path}': ${(error as Error).message}`, error);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * The offset of the first syntax error in `text` (V8's messages do not always carry one), or
 * undefined where a small JSON scanner finds none.
 */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < " ") fail();
      if (c === "\\") {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          fail();
        }
      } else i++;
    }
    fail();
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0].length === 0) fail();
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return;
        } else fail();
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return;
        } else fail();
      }
    } else if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === "number") return offset;
    throw offset;
  }
  return undefined;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text);
    const where = offset === undefined ? "" : (() => {
      const { line, column } = lineColumn(text, offset);
      return ` at line ${line}, column ${column}`;
    })();
    throw invalid(`${what} is not valid JSON${where}: ${(error as Error).message}`, error);
  }
}

/**
 * Parses RFC 4180 CSV: fields separated by commas, records by CRLF, LF or CR; a field in double
 * quotes may hold commas, line breaks (kept verbatim) and quotes written as "". Empty lines between
 * records are ignored. Returns each record with the 1-based line it starts on. Throws a plain Error
 * (message with a line number) on malformed input.
 */
export function parseCsv(text: string): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = "";
  let quoted = false; // the current field was quoted
  let fieldStarted = false; // any character (or quotes) seen in the current record
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    // A record that is one empty unquoted field is an empty line: ignore it.
    if (!(fields.length === 1 && !quoted && field === "" && !fieldStarted)) records.push({ fields, line: recordLine });
    fields = [];
    field = "";
    quoted = false;
    fieldStarted = false;
  };
  while (i < n) {
    const c = text[i]!;
    if (!fieldStarted && field === "" && fields.length === 0) recordLine = line;
    if (c === '"') {
      if (field !== "" || quoted) throw new Error(`line ${line}: a double quote inside an unquoted field (quote the field and write the quote as "")`);
      quoted = true;
      fieldStarted = true;
      const openLine = line;
      i++;
      for (;;) {
        if (i >= n) throw new Error(`line ${openLine}: a quoted field is not closed`);
        const q = text[i]!;
        if (q === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n" || (q === "\r" && text[i + 1] !== "\n")) line++;
        field += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new Error(`line ${line}: unexpected text after a closing double quote`);
      }
      continue;
    }
    if (c === ",") {
      fields.push(field);
      field = "";
      quoted = false;
      fieldStarted = true;
      i++;
      continue;
    }
    if (c === "\r" || c === "\n") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      continue;
    }
    if (quoted) throw new Error(`line ${line}: unexpected text after a closing double quote`);
    field += c;
    fieldStarted = true;
    i++;
  }
  if (fieldStarted || field !== "" || fields.length > 0) endRecord();
  return records;
}

function readCsv(path: string, text: string): Rows {
  let records: { fields: string[]; line: number }[];
  try {
    records = parseCsv(text);
  } catch (error) {
    throw invalid(`prompt file '${path}' is not valid CSV: ${(error as Error).message}`, error);
  }
  const head = records.shift();
  if (head === undefined) throw invalid(`prompt file '${path}' holds no prompts (the CSV file is empty; it needs a header row)`);
  const header = head.fields;
  const rows: PromptRow[] = [];
  const lines: number[] = [];
  for (const { fields, line } of records) {
    if (fields.length !== header.length) {
      throw invalid(`prompt file '${path}' is not valid CSV: line ${line}: the record has ${fields.length} field(s), the header ${header.length}`);
    }
    const row: Record<string, string> = {};
    // The first column of a name wins should the header repeat one.
    header.forEach((name, j) => {
      if (!Object.prototype.hasOwnProperty.call(row, name)) row[name] = fields[j]!;
    });
    rows.push(row);
    lines.push(line);
  }
  return { format: "csv", rows, lines, header };
}

function checkItem(path: string, item: unknown, where: string): PromptRow {
  if (typeof item === "string") return item;
  if (item !== null && typeof item === "object" && !Array.isArray(item)) return item as Record<string, unknown>;
  const kind = item === null ? "null" : Array.isArray(item) ? "an array" : `a ${typeof item}`;
  throw invalid(`prompt file '${path}': ${where} is ${kind}, not a string or an object`);
}

function readRows(path: string): Rows {
  const format = formatOf(path);
  const text = readText(path);
  switch (format) {
    case "json": {
      if (text.trim() === "") throw invalid(`prompt file '${path}' holds no prompts (the file is empty)`);
      const data = parseJson(text, `prompt file '${path}'`);
      if (!Array.isArray(data)) throw invalid(`prompt file '${path}' must hold a JSON array (it holds ${data === null ? "null" : typeof data === "object" ? "an object" : `a ${typeof data}`})`);
      return { format, rows: data.map((item, i) => checkItem(path, item, `item ${i}`)), lines: undefined, header: undefined };
    }
    case "jsonl": {
      const rows: PromptRow[] = [];
      const lines: number[] = [];
      text.split("\n").forEach((raw, i) => {
        const lineText = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (lineText.trim() === "") return;
        const item = parseJson(lineText, `prompt file '${path}' line ${i + 1}`);
        rows.push(checkItem(path, item, `line ${i + 1}`));
        lines.push(i + 1);
      });
      return { format, rows, lines, header: undefined };
    }
    case "csv":
      return readCsv(path, text);
    case "txt": {
      const rows: PromptRow[] = [];
      const lines: number[] = [];
      text.split("\n").forEach((raw, i) => {
        const lineText = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (lineText === "") return;
        rows.push(lineText);
        lines.push(i + 1);
      });
      return { format, rows, lines, header: undefined };
    }
  }
}

/**
 * The records of a prompt file, unfiltered: strings, objects (JSON, JSON Lines) or, for CSV, one
 * object a data row mapping each header name to its string value. Empty lines are not records.
 */
export function loadRows(path: string): PromptRow[] {
  return readRows(path).rows;
}

function pickField(path: string, rows: readonly PromptRow[], header: string[] | undefined, explicit: string | undefined): string | undefined {
  let present: string[];
  if (header !== undefined) present = header;
  else {
    const keys = new Set<string>();
    for (const row of rows) if (typeof row !== "string") for (const key of Object.keys(row)) keys.add(key);
    if (keys.size === 0) return undefined; // strings only
    present = [...keys];
  }
  const list = present.length ? present.map((k) => `'${k}'`).join(", ") : "none";
  if (explicit !== undefined) {
    if (!present.includes(explicit)) throw invalid(`prompt file '${path}' has no field '${explicit}' (fields present: ${list})`);
    return explicit;
  }
  const exact = PROMPT_TEXT_FIELDS.find((name) => present.includes(name));
  if (exact !== undefined) return exact;
  for (const name of PROMPT_TEXT_FIELDS) {
    const match = present.find((k) => k.toLowerCase() === name.toLowerCase());
    if (match !== undefined) return match;
  }
  throw invalid(
    `prompt file '${path}' has no prompt text field: looked for ${PROMPT_TEXT_FIELDS.map((k) => `'${k}'`).join(", ")}; fields present: ${list}. Name the field explicitly (the 'field' option).`,
  );
}

/** Reads a prompt set from a .json, .jsonl, .csv or .txt file (see the file's header). */
export function loadPromptSet(path: string, options: PromptFileOptions = {}): PromptSet {
  const { field: explicit, limit, filter } = options;
  if (explicit !== undefined && (typeof explicit !== "string" || explicit === "")) throw new TypeError("options.field must be a non-empty string");
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`options.limit must be a positive integer (got ${String(limit)})`);
  if (filter !== undefined && typeof filter !== "function") throw new TypeError("options.filter must be a function");

  const { format, rows, lines, header } = readRows(path);
  if (rows.length === 0) throw invalid(`prompt file '${path}' holds no prompts`);
  const field = pickField(path, rows, header, explicit);
  const at = (i: number) => (lines ? ` (line ${lines[i]})` : "");

  const prompts: string[] = [];
  const skipped: { index: number; reason: string }[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  let kept = 0;
  let empty = 0;
  rows.forEach((row, index) => {
    if (filter !== undefined && !filter(row, index)) return;
    kept++;
    let text: string;
    if (typeof row === "string") text = row;
    else {
      const value = field === undefined ? undefined : row[field];
      if (value === undefined || value === null) {
        skipped.push({ index, reason: `no '${field}' value${at(index)}` });
        empty++;
        return;
      }
      if (typeof value !== "string") throw invalid(`prompt file '${path}': record ${index}${at(index)}: field '${field}' holds ${Array.isArray(value) ? "an array" : `a ${typeof value}`}, not a string`);
      text = value;
    }
    if (text.trim() === "") {
      skipped.push({ index, reason: `empty prompt${at(index)}` });
      empty++;
      return;
    }
    if (seen.has(text)) {
      duplicates++;
      return;
    }
    seen.add(text);
    prompts.push(text);
  });
  if (kept === 0) throw invalid(`prompt file '${path}' holds no prompts${filter ? " that pass the filter" : ""}`);
  if (prompts.length === 0) {
    throw invalid(`prompt file '${path}' holds no usable prompts: ${kept} record(s), ${empty} empty, ${duplicates} duplicate(s)`);
  }
  if (limit !== undefined && prompts.length > limit) prompts.length = limit;
  return { prompts, skipped, source: path, duplicates, format, field };
}

/** The prompts of a prompt file (`loadPromptSet(path, options).prompts`). */
export function readPromptFile(path: string, options?: PromptFileOptions): string[] {
  return loadPromptSet(path, options).prompts;
}
