#!/usr/bin/env node
// Lists the functions over 60 lines and the files over 350 lines under lib/ (issue 14's limits: past
// them a function mixes steps that deserve names, a file mixes concepts). Exit status 1 when any.
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const MAX_FUNCTION_LINES = 60;
export const MAX_FILE_LINES = 350;
const root = fileURLToPath(new URL("..", import.meta.url));

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every function (declaration, method, arrow, expression) longer than the limit, and every long file. */
export function sizeOffenders(dir = join(root, "lib")) {
  const offenders = [];
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, "utf8");
    const name = relative(root, file);
    const lines = text.split("\n").length;
    if (lines > MAX_FILE_LINES) offenders.push({ kind: "file", file: name, line: 1, lines, name });
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const last = source.getLineAndCharacterOfPosition(node.end).line;
        if (last - first + 1 > MAX_FUNCTION_LINES) {
          offenders.push({ kind: "function", file: name, line: first + 1, lines: last - first + 1, name: node.name?.getText() ?? "(anonymous)" });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return offenders;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const offenders = sizeOffenders();
  for (const o of offenders) console.log(`${o.file}:${o.line} ${o.kind} ${o.name}: ${o.lines} lines`);
  process.exit(offenders.length > 0 ? 1 : 0);
}
