// Finding a tool that cmake built somewhere under its build tree (the folder differs by generator
// and platform): build-llama-bench.mjs and build-llama-finetune.mjs.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The first executable file named `name` (or `name.exe`) under `dir`, searched depth first; undefined if none. */
export function findExecutable(dir, name) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const hit = findExecutable(path, name);
      if (hit) return hit;
    } else if ((entry.name === name || entry.name === `${name}.exe`) && statSync(path).mode & 0o111) {
      return path;
    }
  }
  return undefined;
}
