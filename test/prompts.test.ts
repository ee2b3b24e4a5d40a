import { suite } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaError } from "../lib/errors.js";
import { checkTemplates, fillEachTemplate, fillTemplate, TEMPLATE_SLOT } from "../lib/promptTemplates.js";
import { itemKey, jailbreakPrompts, setItems } from "../lib/eval/items.js";
import { jsonErrorOffset, lineColumn } from "../lib/jsonErrorPosition.js";
import { loadPromptSet, loadRows, parseCsv, PROMPT_TEXT_FIELDS, readPromptFile, type PromptFileOptions } from "../lib/prompts.js";

const prompts = suite("prompts");
const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const dataDir = join(repoRoot, "..", "shared", "data");
const scratch = mkdtempSync(join(os.tmpdir(), "inferaligner-prompts-"));

function file(name: string, content: string): string {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return path;
}

function throwsInvalid(fn: () => unknown, pattern?: RegExp): LlamaError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, LlamaError, `expected a LlamaError, got ${String(error)}`);
    assert.is((error as LlamaError).code, "ERR_INVALID_ARGUMENT", (error as Error).message);
    if (pattern) assert.match((error as Error).message, pattern);
    return error as LlamaError;
  }
  assert.unreachable("expected a LlamaError with ERR_INVALID_ARGUMENT");
  throw new Error("unreachable");
}

prompts.after(() => rmSync(scratch, { recursive: true, force: true }));

prompts("json: array of strings, kept verbatim", () => {
  const p = file("strings.json", JSON.stringify(["  Hello there  ", "Tell me a joke.\nA long one.", "é ☃ 漢字"]));
  const set = loadPromptSet(p);
  assert.equal(set.prompts, ["  Hello there  ", "Tell me a joke.\nA long one.", "é ☃ 漢字"]);
  assert.is(set.source, p);
  assert.is(set.format, "json");
  assert.is(set.field, undefined);
  assert.is(set.duplicates, 0);
  assert.equal(set.skipped, []);
  assert.equal(readPromptFile(p), set.prompts);
});

prompts("json: objects, field found automatically in order, or given", () => {
  const p = file(
    "objects.json",
    JSON.stringify([
      { category: "a", text: "t1", instruction: "i1" },
      { category: "b", text: "t2", instruction: "i2" },
    ]),
  );
  const auto = loadPromptSet(p);
  assert.equal(auto.prompts, ["i1", "i2"]);
  assert.is(auto.field, "instruction");
  assert.equal(loadPromptSet(p, { field: "text" }).prompts, ["t1", "t2"]);
  assert.equal(readPromptFile(p, { field: "category" }), ["a", "b"]);
  throwsInvalid(() => loadPromptSet(p, { field: "nope" }), /no field 'nope'.*'category', 'text', 'instruction'/);
  // Each name of the list is recognised.
  for (const name of PROMPT_TEXT_FIELDS) {
    const q = file(`field-${name}.json`, JSON.stringify([{ id: 1, [name]: `via ${name}` }]));
    assert.equal(readPromptFile(q), [`via ${name}`], name);
  }
  // Mixed strings and objects.
  const mixed = file("mixed.json", JSON.stringify(["plain", { goal: "from goal" }]));
  assert.equal(readPromptFile(mixed), ["plain", "from goal"]);
});

prompts("json: no text field, wrong item types, null values", () => {
  const p = file("nofield.json", JSON.stringify([{ question: "q", id: 3 }]));
  const e = throwsInvalid(() => loadPromptSet(p), /no prompt text field/);
  assert.match(e.message, /'question', 'id'/);
  assert.match(e.message, /'instruction'/);
  throwsInvalid(() => loadPromptSet(file("number.json", '["ok", 42]')), /item 1 is a number/);
  throwsInvalid(() => loadPromptSet(file("nested.json", JSON.stringify([{ prompt: ["x"] }]))), /field 'prompt' holds an array/);
  throwsInvalid(() => loadPromptSet(file("object.json", JSON.stringify({ prompt: "x" }))), /must hold a JSON array \(it holds an object\)/);
  const withNull = loadPromptSet(file("null.json", JSON.stringify([{ prompt: "a" }, { prompt: null }, { other: 1 }])));
  assert.equal(withNull.prompts, ["a"]);
  assert.equal(
    withNull.skipped.map((s) => s.index),
    [1, 2],
  );
});

prompts("json: malformed JSON names the line", () => {
  throwsInvalid(() => loadPromptSet(file("bad1.json", '[\n  "a",\n  "b"\n  "c"\n]')), /not valid JSON at line 4, column 3/);
  throwsInvalid(() => loadPromptSet(file("bad2.json", '[\n  "a",\n  "b",\n]\n')), /not valid JSON at line 4/);
  throwsInvalid(() => loadPromptSet(file("bad3.json", '["a", "b"')), /not valid JSON at line 1/);
  throwsInvalid(() => loadPromptSet(file("bad4.json", "nonsense")), /not valid JSON at line 1, column 1/);
});

prompts("json error position: the offset of the first character that cannot continue the text", () => {
  // Valid JSON, whitespace of every kind around it, has no error (and JSON.parse agrees).
  for (const ok of ['[1, -0.5e+3, "a\\n\\u00e9\\"", true, false, null, {"k": {}}, []]', " \t\r\n{}\n", '"x"', "0"]) {
    assert.is(jsonErrorOffset(ok), undefined, ok);
    JSON.parse(ok);
  }
  const cases: Array<[text: string, offset: number, why: string]> = [
    ["", 0, "no value at all"],
    ["nonsense", 0, "n starts only null: it fails at the start of the literal"],
    ["tru", 0, "a literal cut short fails where it starts"],
    ['["a" "b"]', 5, "a missing comma: at the second value"],
    ['["a",]', 5, "a trailing comma: where a value should be"],
    ['{"a" 1}', 5, "a missing colon"],
    ["{a: 1}", 1, "an unquoted key"],
    ['{"a": 1,}', 8, "a trailing comma in an object"],
    ['["a"', 4, "an array not closed: at the end"],
    ['"abc', 4, "a string not closed: at the end"],
    ['"a\\u12G4"', 3, "a bad \\u escape: the character after the backslash"],
    ['"a\\x"', 3, "an unknown escape"],
    ['["ok", "a\u0001"]', 9, "a raw control character inside a string"],
    ["01", 1, "a leading zero ends the number; the 1 is extra text"],
    ["-", 0, "a minus sign alone"],
    ["1.", 1, "a fraction needs digits: the number is 1, the dot is extra"],
    ["[1] x", 4, "text after the value"],
    ["[".repeat(500) + "]".repeat(499), 999, "deep nesting is scanned to the end, not cut off"],
  ];
  for (const [text, offset, why] of cases) {
    assert.is(jsonErrorOffset(text), offset, why);
    assert.throws(() => JSON.parse(text), SyntaxError, `JSON.parse accepts the case: ${why}`);
  }
});

prompts("json error position: 1-based line and column of an offset", () => {
  const text = "ab\ncd\r\nef";
  assert.equal(lineColumn(text, 0), { line: 1, column: 1 });
  assert.equal(lineColumn(text, 2), { line: 1, column: 3 }); // the line break itself
  assert.equal(lineColumn(text, 3), { line: 2, column: 1 });
  assert.equal(lineColumn(text, 5), { line: 2, column: 3 }); // CRLF: the CR ends the line it is on
  assert.equal(lineColumn(text, 7), { line: 3, column: 1 }); // and only the LF starts the next
  assert.equal(lineColumn(text, text.length), { line: 3, column: 3 }); // the end (an unclosed value)
  assert.equal(lineColumn("", 0), { line: 1, column: 1 });
});

prompts("jsonl: strings and objects a line; blank lines and CRLF allowed", () => {
  const p = file("set.jsonl", '"first"\r\n{"prompt": "second", "label": "x"}\n\n  \n{"prompt": "third"}\n');
  const set = loadPromptSet(p);
  assert.equal(set.prompts, ["first", "second", "third"]);
  assert.is(set.format, "jsonl");
  assert.is(set.field, "prompt");
  assert.equal(loadRows(p), ["first", { prompt: "second", label: "x" }, { prompt: "third" }]);
  throwsInvalid(() => loadPromptSet(file("bad.jsonl", '"ok"\n{"prompt": "fine"}\n{"prompt": oops}\n')), /line 3 is not valid JSON/);
  throwsInvalid(() => loadPromptSet(file("arr.jsonl", '"ok"\n[1]\n')), /line 2 is an array/);
});

prompts("csv: quotes, commas, doubled quotes, newlines inside quotes, CRLF", () => {
  const csv = [
    "id,prompt,note",
    "1,plain text,a",
    '2,"with, a comma",b',
    '3,"she said ""hi"" twice",c',
    '4,"line one\nline two\r\nline three",d',
    '5,"",empty',
    '6,"  spaced  ",e',
    '7,"ends with quote """,f',
    '8,last,""',
  ].join("\r\n");
  const p = file("tricky.csv", csv + "\r\n");
  const set = loadPromptSet(p);
  assert.is(set.format, "csv");
  assert.is(set.field, "prompt");
  assert.equal(set.prompts, [
    "plain text",
    "with, a comma",
    'she said "hi" twice',
    "line one\nline two\r\nline three",
    "  spaced  ",
    'ends with quote "',
    "last",
  ]);
  assert.equal(set.skipped, [{ index: 4, reason: "empty prompt (line 8)" }]); // the record before spans lines 5-7
  const rows = loadRows(p) as Record<string, string>[];
  assert.is(rows.length, 8);
  assert.equal(rows[3], { id: "4", prompt: "line one\nline two\r\nline three", note: "d" });
  assert.equal(rows[7], { id: "8", prompt: "last", note: "" });
  // No trailing newline, LF only, a BOM, explicit field.
  const q = file("simple.csv", "\ufeffgoal,target\nA,x\nB,y");
  assert.equal(readPromptFile(q), ["A", "B"]);
  assert.equal(readPromptFile(q, { field: "target" }), ["x", "y"]);
  // A header with none of the known fields.
  throwsInvalid(() => loadPromptSet(file("nofield.csv", "question,answer\nq,a\n")), /no prompt text field.*fields present: 'question', 'answer'/);
  throwsInvalid(() => loadPromptSet(q, { field: "missing" }), /no field 'missing' \(fields present: 'goal', 'target'\)/);
});

prompts("csv parser: record lines, empty lines, malformed input", () => {
  assert.equal(parseCsv('a,b\n"x\ny",z\n\n1,2'), [
    { fields: ["a", "b"], line: 1 },
    { fields: ["x\ny", "z"], line: 2 },
    { fields: ["1", "2"], line: 5 },
  ]);
  assert.equal(parseCsv("a\r\rb\r"), [
    { fields: ["a"], line: 1 },
    { fields: ["b"], line: 3 },
  ]);
  assert.equal(parseCsv(',\n""\n'), [
    { fields: ["", ""], line: 1 },
    { fields: [""], line: 2 },
  ]);
  assert.equal(parseCsv(""), []);
  // A line break inside quotes moves the next record's line on, CRLF counting once.
  assert.equal(parseCsv('"a\r\nb\rc",d\ne,f'), [
    { fields: ["a\r\nb\rc", "d"], line: 1 },
    { fields: ["e", "f"], line: 4 },
  ]);
  assert.equal(parseCsv('"",""'), [{ fields: ["", ""], line: 1 }]);
  // A header naming a column twice: the first column's value is the row's.
  assert.equal(loadRows(file("twice.csv", "prompt,prompt,x\nfirst,second,y\n")), [{ prompt: "first", x: "y" }]);
  assert.throws(() => parseCsv('a,b\n"open,\nno close'), /line 2: a quoted field is not closed/);
  assert.throws(() => parseCsv('a,b\nx"y,z'), /line 2: a double quote inside an unquoted field/);
  assert.throws(() => parseCsv('a,b\n"x"y,z'), /line 2: unexpected text after a closing double quote/);
  throwsInvalid(() => loadPromptSet(file("open.csv", 'prompt\n"never closed\n')), /not valid CSV: line 2/);
  throwsInvalid(() => loadPromptSet(file("ragged.csv", "prompt,b\nx,y\nonly\n")), /line 3: the record has 1 field\(s\), the header 2/);
});

prompts("txt: one prompt a non-empty line", () => {
  const p = file("set.txt", 'first prompt\r\n\nsecond, with a comma\n   \nthird "quoted"\n');
  const set = loadPromptSet(p);
  assert.equal(set.prompts, ["first prompt", "second, with a comma", 'third "quoted"']);
  assert.equal(set.skipped, [{ index: 2, reason: "empty prompt (line 4)" }]);
  assert.is(set.format, "txt");
});

prompts("duplicates, empties and limit", () => {
  const p = file("dups.json", JSON.stringify(["a", "b", "a", " ", "", "c", "b", "a ", "d"]));
  const set = loadPromptSet(p);
  assert.equal(set.prompts, ["a", "b", "c", "a ", "d"]);
  assert.is(set.duplicates, 2);
  assert.equal(
    set.skipped.map((s) => s.index),
    [3, 4],
  );
  assert.equal(loadPromptSet(p, { limit: 3 }).prompts, ["a", "b", "c"]);
  assert.equal(loadPromptSet(p, { limit: 3 }).duplicates, 2);
  assert.equal(loadPromptSet(p, { limit: 100 }).prompts.length, 5);
  for (const limit of [0, -1, 1.5, Number.NaN]) assert.throws(() => loadPromptSet(p, { limit } as PromptFileOptions), RangeError);
  // One prompt repeated is a set of one.
  const one = loadPromptSet(file("same.txt", "x\nx\nx\n"));
  assert.equal(one.prompts, ["x"]);
  assert.is(one.duplicates, 2);
});

prompts("filter: keep matching records", () => {
  const p = file("labelled.csv", "prompt,label\nkeep me,safe\ndrop me,unsafe\nme too,safe\n");
  const set = loadPromptSet(p, { filter: (row) => typeof row !== "string" && row.label === "safe" });
  assert.equal(set.prompts, ["keep me", "me too"]);
  throwsInvalid(() => loadPromptSet(p, { filter: () => false }), /no prompts that pass the filter/);
});

prompts("empty, whitespace-only and duplicate-only sets; bad paths", () => {
  throwsInvalid(() => loadPromptSet(file("empty.json", "[]")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("zero.json", "")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("empty.txt", "\n\n")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("empty.jsonl", "")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("header.csv", "prompt\n")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("nothing.csv", "")), /holds no prompts/);
  throwsInvalid(() => loadPromptSet(file("blank.json", JSON.stringify(["", "  ", "\n"]))), /no usable prompts: 3 record\(s\), 3 empty/);
  throwsInvalid(() => loadPromptSet(file("blankdup.csv", 'prompt,id\n"",1\n" ",2\n"",3\n')), /no usable prompts/);
  throwsInvalid(() => loadPromptSet(join(scratch, "missing.json")), /cannot read prompt file/);
  throwsInvalid(() => loadPromptSet(scratch + "/"), /cannot read prompt file|unknown extension|no extension/);
  throwsInvalid(() => loadPromptSet(file("set.yaml", "- a\n")), /unknown extension '\.yaml'.*\.json, \.jsonl, \.csv or \.txt/);
  throwsInvalid(() => loadPromptSet(file("noext", "a\n")), /no extension/);
  assert.throws(() => loadPromptSet(file("ok.txt", "a\n"), { field: "" }), TypeError);
});

// The evaluation data shipped next to the repository (see MANIFEST.md there): read at run time only.
const haveData = existsSync(join(dataDir, "MANIFEST.md"));
if (!haveData) console.log(`  (prompts: skipping the shared data checks: ${dataDir} is absent)`);

/** Row counts by file name from the MANIFEST table. */
function manifestRows(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of readFileSync(join(dataDir, "MANIFEST.md"), "utf8").split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const name = cells[1];
    const count = cells[2]?.replace(/,/g, "");
    if (name && count && /^\d+$/.test(count) && /\.(json|csv)$/.test(name)) rows.set(name, Number(count));
  }
  return rows;
}

(haveData ? prompts : prompts.skip)("shared data: every file loads with its row count from MANIFEST.md", () => {
  const expected = manifestRows();
  // The table was read: a few counts cross-checked by hand.
  assert.is(expected.get("advbench.csv"), 520);
  assert.is(expected.get("xstest_prompts.csv"), 450);
  assert.is(expected.get("GPTFuzzer.csv"), 77);
  assert.is(expected.get("question_list.csv"), 100);
  const fields: Record<string, string | undefined> = {
    "harmful_train.json": "instruction",
    "harmful_val.json": "instruction",
    "harmless_train.json": "instruction",
    "harmless_val.json": "instruction",
    "advbench.csv": "goal",
    "xstest_prompts.csv": "prompt",
    "question_list.csv": "text",
    "seed_short_25.csv": "text",
    "GPTFuzzer.csv": "text",
    "gcg_evaluate_test_prefixes.json": undefined,
    "refusal_direction_test_prefixes_jailbreakbench.json": undefined,
  };
  for (const [name, rows] of expected) {
    const path = join(dataDir, name);
    assert.is(loadRows(path).length, rows, `${name}: rows`);
    const set = loadPromptSet(path);
    assert.is(set.field, fields[name], `${name}: field`);
    assert.is(set.prompts.length + set.duplicates + set.skipped.length, rows, `${name}: prompts`);
    assert.ok(
      set.prompts.every((p) => p.trim().length > 0),
      name,
    );
  }
  assert.ok(expected.size >= 9, `MANIFEST lists ${expected.size} files`);
});

(haveData ? prompts : prompts.skip)("shared data: exact prompt counts and contents", () => {
  const load = (name: string, options?: PromptFileOptions) => loadPromptSet(join(dataDir, name), options);
  assert.is(load("harmful_train.json").prompts.length, 260);
  assert.is(load("advbench.csv").prompts.length, 520);
  assert.is(load("question_list.csv").prompts.length, 100);
  assert.is(load("seed_short_25.csv").prompts.length, 25);
  assert.is(load("xstest_prompts.csv").prompts.length, 450);
  // XSTest: the 250 safe prompts through a filter on the label column.
  const safe = load("xstest_prompts.csv", { filter: (row) => typeof row !== "string" && row.label === "safe" });
  assert.is(safe.prompts.length, 250);
  // GPTFuzzer: long multi-line quoted templates, each with the slot for the question.
  const templates = load("GPTFuzzer.csv");
  assert.is(templates.prompts.length, 77);
  assert.ok(templates.prompts.every((t) => t.includes("[INSERT PROMPT HERE]")));
  assert.ok(templates.prompts.filter((t) => t.includes("\n")).length > 10);
  assert.ok(Math.max(...templates.prompts.map((t) => t.length)) > 3000);
  assert.ok(load("seed_short_25.csv").prompts.every((t) => t.includes("[INSERT PROMPT HERE]")));
  // The id column lines up with the rows: nothing was split or merged by the quoted newlines.
  const rows = loadRows(join(dataDir, "GPTFuzzer.csv")) as Record<string, string>[];
  assert.equal(
    rows.map((r) => r.id),
    rows.map((_, i) => String(i)),
  );
  assert.is(load("advbench.csv", { limit: 10 }).prompts.length, 10);
});

prompts("templates: every slot filled, each template once with prompts in turn, bad templates named", () => {
  assert.is(TEMPLATE_SLOT, "[INSERT PROMPT HERE]");
  assert.is(fillTemplate("A [INSERT PROMPT HERE] B [INSERT PROMPT HERE]", "x"), "A x B x");
  assert.is(fillTemplate("<<q>>!", "y", "<<q>>"), "y!");
  assert.equal(fillEachTemplate(["1:[INSERT PROMPT HERE]", "2:[INSERT PROMPT HERE]", "3:[INSERT PROMPT HERE]"], ["a", "b"]), ["1:a", "2:b", "3:a"]);
  assert.equal(fillEachTemplate(["1:[INSERT PROMPT HERE]", "2:[INSERT PROMPT HERE]"], ["a", "b", "c"], TEMPLATE_SLOT, 2), ["1:c", "2:a"]);
  assert.throws(
    () => fillEachTemplate(["[INSERT PROMPT HERE]"], []),
    (e: LlamaError) => e.code === "ERR_INVALID_ARGUMENT",
  );
  assert.throws(
    () => checkTemplates(["ok [INSERT PROMPT HERE]", "no slot"], TEMPLATE_SLOT, "t.csv"),
    (e: LlamaError) => e.code === "ERR_INVALID_ARGUMENT" && /template\(s\) 1 of 't.csv'/.test(e.message),
  );
  assert.throws(() => checkTemplates([], TEMPLATE_SLOT, "t.csv"), /no templates/);
  assert.throws(() => checkTemplates(["x"], "", "t.csv"), /slot \(placeholder\) is empty/);
});

prompts("evaluation sets from prompts: jailbreaks question by question over every template; repeats dropped, limits, stable keys", () => {
  const { prompts: filled, meta } = jailbreakPrompts(["A:[Q]", "B:[Q][Q]"], ["x", "y"], "[Q]");
  assert.equal(filled, ["A:x", "B:xx", "A:y", "B:yy"]);
  assert.equal(meta, [
    { question: "x", template: 0 },
    { question: "x", template: 1 },
    { question: "y", template: 0 },
    { question: "y", template: 1 },
  ]);
  const items = setItems("jailbreak", ["p", "q", "p", "r", "s"], 3, (j) => ({ template: j }));
  assert.equal(
    items.map((i) => [i.prompt, i.index, i.template]),
    [
      ["p", 0, 0],
      ["q", 1, 1],
      ["r", 2, 3],
    ],
    "extra() gets the position in the list, index counts kept items",
  );
  assert.is(items[0]!.key, itemKey("jailbreak", "p"));
  assert.match(items[0]!.key, /^jailbreak:[0-9a-f]{16}$/);
  assert.is(setItems("harmful", ["p", "q"], undefined).length, 2);
  assert.equal(setItems("harmful", [], 5), []);
});

prompts.run();
