// The published API (issue 14): a narrow root export, subpath exports for vectors and evaluation,
// declaration files without internals, require() as well as import, and docs/api.md covering every
// exported name, every public member of the exported classes and every error code.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import ts from "typescript";
import { repoRoot } from "./helpers/engine.js";

const ENTRY_POINTS = { inferaligner: "dist/index.d.ts", "inferaligner/vectors": "dist/vectors/index.d.ts", "inferaligner/eval": "dist/eval/index.d.ts" };

/** The user-facing root: the engine, guidance, and making, reading and writing safety vectors. */
const ROOT_RUNTIME_NAMES = [
  "ChatSession",
  "DEFAULT_ALPHA_RELATIVE",
  "DEFAULT_REFUSAL",
  "GEMMA_TEMPLATE",
  "GUIDANCE_MODES",
  "GenerationAbortedError",
  "LlamaContext",
  "LlamaError",
  "LlamaModel",
  "SCORE_KINDS",
  "builtinExtractionSets",
  "customChatTemplate",
  "extractSafetyVectors",
  "readVectorFile",
  "resolveChatTemplate",
  "resolveGuidance",
  "setLogLevel",
  "setLogger",
  "streamOf",
  "writeVectorFile",
];

/** Members every class or error has from the language, documented by the language. */
const INHERITED = new Set(["prototype", "message", "name", "stack", "cause", "captureStackTrace", "prepareStackTrace", "stackTraceLimit", "isError"]);

interface ExportedApi {
  /** Every exported name (values and types) per entry point. */
  names: Record<string, string[]>;
  /** Public members (instance and static) of every exported class. */
  classMembers: Record<string, string[]>;
  errorCodes: string[];
}

/** What the published declaration files export, read with the TypeScript checker (types included). */
function exportedApi(): ExportedApi {
  const files = Object.values(ENTRY_POINTS).map((f) => join(repoRoot, f));
  const program = ts.createProgram(files, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const api: ExportedApi = { names: {}, classMembers: {}, errorCodes: [] };
  for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(repoRoot, file))!)!;
    const symbols = checker.getExportsOfModule(module);
    api.names[entry] = symbols.map((s) => s.name).sort();
    for (const exported of symbols) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (symbol.flags & ts.SymbolFlags.Class) {
        const declaration = symbol.valueDeclaration!;
        const instance = checker.getDeclaredTypeOfSymbol(symbol);
        const statics = checker.getTypeOfSymbolAtLocation(symbol, declaration);
        const members = [...checker.getPropertiesOfType(instance), ...checker.getPropertiesOfType(statics)]
          .map((m) => m.name)
          .filter((n) => !INHERITED.has(n) && !n.startsWith("__@") && !n.startsWith("#"));
        api.classMembers[exported.name] = [...new Set(members)].sort();
      }
      if (exported.name === "LlamaErrorCode") {
        const union = checker.getDeclaredTypeOfSymbol(symbol);
        api.errorCodes = (union.isUnion() ? union.types : [union]).map((t) => (t as ts.StringLiteralType).value).sort();
      }
    }
  }
  return api;
}

const api = exportedApi();
const docs = readFileSync(join(repoRoot, "docs/api.md"), "utf8");
/** Identifiers documented by a heading: "### `name(...)`", "#### `model.member(...)`", "#### `LlamaModel.load(...)`". */
const headings = [...docs.matchAll(/^#{2,4} `(?:new |await )?([A-Za-z_$][\w$]*)(?:\.([A-Za-z_$][\w$]*))?/gm)].map((m) => ({ owner: m[1]!, member: m[2] }));

test("the root export is the user-facing API only", async () => {
  const root = await import(join(repoRoot, "dist/index.js"));
  assert.equal(Object.keys(root).sort(), [...ROOT_RUNTIME_NAMES].sort());
});

test("the declaration files carry no internal (_-prefixed) members", () => {
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".d.ts")) {
        readFileSync(path, "utf8")
          .split("\n")
          .forEach((line, i) => {
            if (/^\s+(?:static |readonly |get |set |async )*_[A-Za-z]\w*\s*[(:<?]/.test(line)) offenders.push(`${path}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  };
  walk(join(repoRoot, "dist"));
  assert.equal(offenders, []);
});

test("every entry point loads with import() and require()", () => {
  const script = `
    const names = {};
    for (const entry of ${JSON.stringify(Object.keys(ENTRY_POINTS))}) names[entry] = Object.keys(require(entry)).length;
    import("inferaligner/eval").then((m) => { names.importEval = Object.keys(m).length; console.log(JSON.stringify(names)); });`;
  // The package resolves itself by name (package.json "exports") from inside its own folder.
  const out = JSON.parse(execFileSync(process.execPath, ["--no-warnings", "-e", script], { cwd: repoRoot, encoding: "utf8" })) as Record<string, number>;
  assert.is(out["inferaligner"], ROOT_RUNTIME_NAMES.length);
  assert.ok(out["inferaligner/vectors"]! > 20 && out["inferaligner/eval"]! > 20, JSON.stringify(out));
  assert.is(out.importEval, out["inferaligner/eval"]);
});

test("docs/api.md documents every exported name with a heading", () => {
  const documented = new Set(headings.filter((h) => h.member === undefined || /^[A-Z]/.test(h.owner)).map((h) => h.owner));
  const missing = Object.entries(api.names).flatMap(([entry, names]) => names.filter((n) => !documented.has(n)).map((n) => `${entry}: ${n}`));
  assert.equal(missing, []);
});

test("docs/api.md documents every public member of the exported classes", () => {
  const missing: string[] = [];
  for (const [cls, members] of Object.entries(api.classMembers)) {
    // The class's section runs from its "### `Class`" heading to the next "##" or "###" heading; its
    // members are headed there by the class (statics: `LlamaModel.load`) or an instance (`model.tokenize`).
    const start = docs.search(new RegExp("^### `(?:new )?" + cls + "\\b", "m"));
    if (start < 0) {
      missing.push(`${cls} (no section)`);
      continue;
    }
    const rest = docs.slice(start + 4);
    const end = rest.search(/^#{2,3} /m);
    const section = end < 0 ? rest : rest.slice(0, end);
    const documented = new Set([...section.matchAll(/^#### `(?:await )?[A-Za-z_$][\w$]*\.([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
    for (const m of members) if (!documented.has(m)) missing.push(`${cls}.${m}`);
  }
  assert.equal(missing, []);
});

test("docs/api.md lists every error code", () => {
  assert.ok(api.errorCodes.length >= 15, api.errorCodes.join(" "));
  const missing = api.errorCodes.filter((code) => !docs.includes("`" + code + "`"));
  assert.equal(missing, []);
});

test("the checks above see what they claim to (a name the docs lack is found)", () => {
  assert.ok(api.names["inferaligner"]!.includes("LlamaModel") && api.names["inferaligner"]!.includes("GenerateOptions"), "types are listed too");
  assert.ok(api.classMembers["LlamaModel"]!.includes("load") && api.classMembers["LlamaModel"]!.includes("tokenize"));
  assert.not.ok(headings.some((h) => h.owner === "NotAnExportedName"));
});

test.run();
