// RFC 4180 CSV parsing for prompt files: fields separated by commas, records by CRLF, LF or CR; a
// field in double quotes may hold commas, line breaks (kept verbatim) and quotes written as "".
// Empty lines between records are ignored. Each record keeps the 1-based line it starts on, so that
// errors further on (a ragged record, an empty prompt) can name it.

export interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on (a quoted field may carry it over several lines). */
  line: number;
}

/**
 * Parses `text` into records (see the file's header). Throws a plain Error whose message starts
 * with the line number on malformed input: a quote inside an unquoted field, text after a closing
 * quote, a quoted field that is never closed.
 */
export function parseCsv(text: string): CsvRecord[] {
  const reader = new CsvReader(text);
  while (!reader.atEnd()) reader.step();
  return reader.finish();
}

/** The parser's state between characters: the record and field being read, and the position. */
class CsvReader {
  private readonly records: CsvRecord[] = [];
  private fields: string[] = [];
  private field = "";
  /** The current field was quoted. */
  private quoted = false;
  /** Any character (or a pair of quotes) was seen in the current record. */
  private fieldStarted = false;
  private line = 1;
  private recordLine = 1;
  private i = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.i >= this.text.length;
  }

  /** Reads one character, or one whole quoted field. */
  step(): void {
    const c = this.text[this.i]!;
    if (!this.fieldStarted && this.field === "" && this.fields.length === 0) this.recordLine = this.line;
    if (c === '"') this.quotedField();
    else if (c === ",") this.endField();
    else if (c === "\r" || c === "\n") this.lineBreak(c);
    else this.plainCharacter(c);
  }

  /** The records read, the last one included even without a line break after it. */
  finish(): CsvRecord[] {
    if (this.fieldStarted || this.field !== "" || this.fields.length > 0) this.endRecord();
    return this.records;
  }

  private quotedField(): void {
    if (this.field !== "" || this.quoted) {
      throw new Error(`line ${this.line}: a double quote inside an unquoted field (quote the field and write the quote as "")`);
    }
    this.quoted = true;
    this.fieldStarted = true;
    this.field += this.quotedContent();
    const next = this.text[this.i];
    if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
      throw new Error(`line ${this.line}: unexpected text after a closing double quote`);
    }
  }

  /** From the opening quote to just past the closing one: the text between, "" read as ". */
  private quotedContent(): string {
    const { text } = this;
    const openLine = this.line;
    let content = "";
    this.i++;
    for (;;) {
      if (this.i >= text.length) throw new Error(`line ${openLine}: a quoted field is not closed`);
      const q = text[this.i]!;
      if (q === '"') {
        if (text[this.i + 1] !== '"') break;
        content += '"';
        this.i += 2;
        continue;
      }
      // A CRLF inside the field counts once, at its LF.
      if (q === "\n" || (q === "\r" && text[this.i + 1] !== "\n")) this.line++;
      content += q;
      this.i++;
    }
    this.i++; // the closing quote
    return content;
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = "";
    this.quoted = false;
    this.fieldStarted = true;
    this.i++;
  }

  private lineBreak(c: "\r" | "\n"): void {
    this.endRecord();
    this.i += c === "\r" && this.text[this.i + 1] === "\n" ? 2 : 1;
    this.line++;
  }

  private plainCharacter(c: string): void {
    if (this.quoted) throw new Error(`line ${this.line}: unexpected text after a closing double quote`);
    this.field += c;
    this.fieldStarted = true;
    this.i++;
  }

  private endRecord(): void {
    this.fields.push(this.field);
    // A record that is one empty unquoted field is an empty line: ignore it.
    const emptyLine = this.fields.length === 1 && !this.quoted && this.field === "" && !this.fieldStarted;
    if (!emptyLine) this.records.push({ fields: this.fields, line: this.recordLine });
    this.fields = [];
    this.field = "";
    this.quoted = false;
    this.fieldStarted = false;
  }
}
