import ts from "typescript";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
const files = [];
(function walk(d) { for (const f of readdirSync(d)) { const p = join(d, f); if (statSync(p).isDirectory()) walk(p); else if (p.endsWith(".ts")) files.push(p); } })("lib");
for (const f of files) {
  const text = readFileSync(f, "utf8");
  const sf = ts.createSourceFile(f, text, ts.ScriptTarget.ES2022, true);
  const lines = text.split("\n").length;
  if (lines > 350) console.log(`FILE ${f} ${lines}`);
  const visit = (n) => {
    if (ts.isFunctionLike(n) && n.body) {
      const a = sf.getLineAndCharacterOfPosition(n.getStart()).line, b = sf.getLineAndCharacterOfPosition(n.end).line;
      if (b - a + 1 > 60) console.log(`FN ${f}:${a + 1} ${b - a + 1} ${n.name?.getText?.() ?? "(anon)"}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
