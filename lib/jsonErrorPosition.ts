// Where a JSON text first goes wrong. V8's JSON.parse messages do not always carry a position (and
// their wording changes between versions), so prompt files name the line and column from a small
// scanner of our own that follows RFC 8259's grammar and stops at the first character that cannot
// continue it. The scanner only locates errors: JSON.parse stays the parser.

/** 1-based line and column of a character offset (lines end at "\n"). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
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
 * The offset of the first syntax error in `text`, or undefined where the scanner finds none.
 * Nesting deeper than the call stack allows throws the engine's RangeError.
 */
export function jsonErrorOffset(text: string): number | undefined {
  const scanner = new JsonScanner(text);
  try {
    scanner.document();
  } catch (error) {
    if (error instanceof SyntaxErrorAt) return error.offset;
    throw error;
  }
  return undefined;
}

/** Thrown by the scanner to unwind to `jsonErrorOffset` from any depth. */
class SyntaxErrorAt {
  constructor(readonly offset: number) {}
}

const WHITESPACE = " \t\n\r";
const SIMPLE_ESCAPES = '"\\/bfnrt';
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/;
/** The scanner reads a number from at most this many characters (a longer one would be reported where it is cut). */
const NUMBER_WINDOW = 400;

/** A recursive-descent walk over one JSON text; `i` is the offset of the next unread character. */
class JsonScanner {
  i = 0;

  constructor(private readonly text: string) {}

  /** One value and nothing but whitespace after it. */
  document(): void {
    this.value();
    this.whitespace();
    if (this.i < this.text.length) this.fail();
  }

  private fail(): never {
    throw new SyntaxErrorAt(this.i);
  }

  private whitespace(): void {
    while (this.i < this.text.length && WHITESPACE.includes(this.text[this.i]!)) this.i++;
  }

  private value(): void {
    this.whitespace();
    const c = this.text[this.i];
    if (c === "{") this.object();
    else if (c === "[") this.array();
    else if (c === '"') this.string();
    else if (c === "t") this.literal("true");
    else if (c === "f") this.literal("false");
    else if (c === "n") this.literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) this.number();
    else this.fail();
  }

  /** After a member or element: a comma continues, `close` ends (true), anything else is the error. */
  private separatorOrEnd(close: "}" | "]"): boolean {
    this.whitespace();
    if (this.text[this.i] === ",") {
      this.i++;
      return false;
    }
    if (this.text[this.i] === close) {
      this.i++;
      return true;
    }
    return this.fail();
  }

  /** An empty container's closing bracket, right after the opening one and any whitespace. */
  private emptyContainer(close: "}" | "]"): boolean {
    this.i++; // the opening bracket
    this.whitespace();
    if (this.text[this.i] !== close) return false;
    this.i++;
    return true;
  }

  private object(): void {
    if (this.emptyContainer("}")) return;
    do {
      this.whitespace();
      if (this.text[this.i] !== '"') this.fail();
      this.string();
      this.whitespace();
      if (this.text[this.i] !== ":") this.fail();
      this.i++;
      this.value();
    } while (!this.separatorOrEnd("}"));
  }

  private array(): void {
    if (this.emptyContainer("]")) return;
    do this.value();
    while (!this.separatorOrEnd("]"));
  }

  private string(): void {
    const { text } = this;
    this.i++; // the opening quote
    while (this.i < text.length) {
      const c = text[this.i]!;
      if (c === '"') {
        this.i++;
        return;
      }
      if (c < " ") this.fail(); // control characters must be escaped
      if (c === "\\") this.escape();
      else this.i++;
    }
    this.fail(); // not closed
  }

  /** A backslash escape; an invalid one is reported at the character after the backslash. */
  private escape(): void {
    const e = this.text[this.i + 1];
    if (e !== undefined && SIMPLE_ESCAPES.includes(e)) this.i += 2;
    else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) this.i += 6;
    else {
      this.i++;
      this.fail();
    }
  }

  private literal(word: string): void {
    if (this.text.startsWith(word, this.i)) this.i += word.length;
    else this.fail();
  }

  private number(): void {
    const m = NUMBER.exec(this.text.slice(this.i, this.i + NUMBER_WINDOW));
    if (!m || m[0].length === 0) this.fail();
    this.i += m[0].length;
  }
}
