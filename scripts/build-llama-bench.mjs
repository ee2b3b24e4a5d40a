#!/usr/bin/env node
// Builds llama.cpp's own llama-bench from the pinned bundle, in the source build's cmake tree, so
// it uses exactly the libraries and flags of our source build (-march=native, no AMX): the engine's
// reference on this machine for `npm run bench`. Output: vendor/build-llama-bench/bin/llama-bench.
// The source build of the addon goes to build/source-release (build/Release is left as it is).
// Usage: node scripts/build-llama-bench.mjs
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, chmodSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { findExecutable } from "./find-executable.mjs";
import { root } from "./llama-source.mjs";

execFileSync(process.execPath, [join(root, "scripts", "build-native.mjs"), "--mode", "source", "--out-dir", join(root, "build", "source-release")], {
  stdio: "inherit",
  env: { ...process.env, INFERALIGNER_LLAMA_TOOLS: "ON" },
});
const tree = join(root, "build", "cmake-source");
// cmake-js only configures a fresh tree; configure this one again with the tools switched on (the
// rest of its cache, flags included, stays as the addon's build left it).
execFileSync("cmake", ["-B", tree, "-DINFERALIGNER_LLAMA_TOOLS=ON"], { stdio: "inherit" });
execFileSync("cmake", ["--build", tree, "--target", "llama-bench", "--parallel", String(os.availableParallelism())], { stdio: "inherit" });

const built = findExecutable(tree, "llama-bench");
if (!built || !existsSync(built)) throw new Error(`llama-bench was not found under ${tree}`);
const out = join(root, "vendor", "build-llama-bench", "bin");
mkdirSync(out, { recursive: true });
copyFileSync(built, join(out, "llama-bench"));
chmodSync(join(out, "llama-bench"), 0o755);
console.error(`[inferaligner] llama-bench: ${join(out, "llama-bench")}`);
