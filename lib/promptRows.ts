// The records of a prompt file, by format: JSON (an array of strings or objects), JSON Lines (one
// string or object a line), CSV (a header row, then one object a record) and plain text (one prompt
// a line). Which field of an object holds the prompt is decided later (prompts.ts); here a file
// becomes a list of records with the line each starts on, or a LlamaError naming what is wrong.
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parseCsv, type CsvRecord } from "./csv.js";
import { LlamaError } from "./errors.js";
import { jsonErrorOffset, lineColumn } from "./jsonErrorPosition.js";

export type PromptFileFormat = "json" | "jsonl" | "csv" | "txt";

/** One record of a prompt file: a string, or an object (a CSV row maps every header to a string). */
export type PromptRow = string | Readonly<Record<string, unknown>>;

/** A prompt file read into records. */
export interface PromptRows {
  format: PromptFileFormat;
  rows: PromptRow[];
  /** 1-based line where each record starts (line-based formats and CSV only). */
  lines: number[] | undefined;
  /** CSV only: the header row. */
  header: string[] | undefined;
}

/** Every problem with a prompt file is one of these (ERR_INVALID_ARGUMENT). */
export function promptFileError(message: string, cause?: unknown): LlamaError {
  return new LlamaError(message, "ERR_INVALID_ARGUMENT", 0, cause === undefined ? undefined : { cause });
}

/** Reads a prompt file into records, its format taken from the extension. */
export function readPromptRows(path: string): PromptRows {
  const format = formatOf(path);
  const text = readText(path);
  switch (format) {
    case "json":
      return readJsonRows(path, text);
    case "jsonl":
      return readJsonLinesRows(path, text);
    case "csv":
      return readCsvRows(path, text);
    case "txt":
      return readTextRows(text);
  }
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
      throw promptFileError(`prompt file '${path}' has ${ext ? `an unknown extension '${ext}'` : "no extension"} (expected .json, .jsonl, .csv or .txt)`);
  }
}

/** The file's text without a leading byte order mark. */
function readText(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw promptFileError(`cannot read prompt file '${path}': ${(error as Error).message}`, error);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** JSON.parse, with the line and column of the first error in the message where they can be found. */
function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text);
    let where = "";
    if (offset !== undefined) {
      const { line, column } = lineColumn(text, offset);
      where = ` at line ${line}, column ${column}`;
    }
    throw promptFileError(`${what} is not valid JSON${where}: ${(error as Error).message}`, error);
  }
}

function checkItem(path: string, item: unknown, where: string): PromptRow {
  if (typeof item === "string") return item;
  if (item !== null && typeof item === "object" && !Array.isArray(item)) return item as Record<string, unknown>;
  const kind = item === null ? "null" : Array.isArray(item) ? "an array" : `a ${typeof item}`;
  throw promptFileError(`prompt file '${path}': ${where} is ${kind}, not a string or an object`);
}

function readJsonRows(path: string, text: string): PromptRows {
  if (text.trim() === "") throw promptFileError(`prompt file '${path}' holds no prompts (the file is empty)`);
  const data = parseJson(text, `prompt file '${path}'`);
  if (!Array.isArray(data)) {
    const holds = data === null ? "null" : typeof data === "object" ? "an object" : `a ${typeof data}`;
    throw promptFileError(`prompt file '${path}' must hold a JSON array (it holds ${holds})`);
  }
  return { format: "json", rows: data.map((item, i) => checkItem(path, item, `item ${i}`)), lines: undefined, header: undefined };
}

/** Each line without its line break (LF or CRLF) and its 1-based number. */
function linesOf(text: string): Array<{ text: string; line: number }> {
  return text.split("\n").map((raw, i) => ({ text: raw.endsWith("\r") ? raw.slice(0, -1) : raw, line: i + 1 }));
}

function readJsonLinesRows(path: string, text: string): PromptRows {
  const rows: PromptRow[] = [];
  const lines: number[] = [];
  for (const { text: lineText, line } of linesOf(text)) {
    if (lineText.trim() === "") continue;
    const item = parseJson(lineText, `prompt file '${path}' line ${line}`);
    rows.push(checkItem(path, item, `line ${line}`));
    lines.push(line);
  }
  return { format: "jsonl", rows, lines, header: undefined };
}

function readTextRows(text: string): PromptRows {
  const rows: PromptRow[] = [];
  const lines: number[] = [];
  for (const { text: lineText, line } of linesOf(text)) {
    if (lineText === "") continue;
    rows.push(lineText);
    lines.push(line);
  }
  return { format: "txt", rows, lines, header: undefined };
}

function readCsvRows(path: string, text: string): PromptRows {
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (error) {
    throw promptFileError(`prompt file '${path}' is not valid CSV: ${(error as Error).message}`, error);
  }
  const head = records.shift();
  if (head === undefined) throw promptFileError(`prompt file '${path}' holds no prompts (the CSV file is empty; it needs a header row)`);
  const header = head.fields;
  const rows: PromptRow[] = [];
  const lines: number[] = [];
  for (const { fields, line } of records) {
    if (fields.length !== header.length) {
      throw promptFileError(`prompt file '${path}' is not valid CSV: line ${line}: the record has ${fields.length} field(s), the header ${header.length}`);
    }
    rows.push(csvRow(header, fields));
    lines.push(line);
  }
  return { format: "csv", rows, lines, header };
}

/** A CSV record as an object by header name; the first column of a name wins should the header repeat one. */
function csvRow(header: readonly string[], fields: readonly string[]): Record<string, string> {
  const row: Record<string, string> = {};
  header.forEach((name, j) => {
    if (!Object.prototype.hasOwnProperty.call(row, name)) row[name] = fields[j]!;
  });
  return row;
}
