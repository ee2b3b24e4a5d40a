#!/usr/bin/env node
// Builds the native addon into build/Release/ with cmake-js, in one of two modes:
//   prebuilt (default): our addon only, linked against node-llama-cpp's prebuilt llama.cpp libraries,
//                       which are copied beside the .node file;
//   source:             llama.cpp compiled from the pinned bundle (static, CPU, -march=native).
// Usage: node scripts/build-native.mjs [--mode prebuilt|source] [--gpu auto|cpu|cuda|vulkan] [--prebuild]
//                                      [--out-dir <dir>]   (default build/Release, where the package looks)
// Environment: INFERALIGNER_BUILD_MODE, INFERALIGNER_GPU, INFERALIGNER_NATIVE=OFF (portable source build),
//              INFERALIGNER_SANITIZE=address (an instrumented addon: npm run test:asan).
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { ensureLlamaSource, pin, prebuiltCandidates, root } from "./llama-source.mjs";

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const argValue = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const mode = argValue("--mode") ?? process.env.INFERALIGNER_BUILD_MODE ?? "prebuilt";
const gpu = argValue("--gpu") ?? process.env.INFERALIGNER_GPU ?? "auto";
if (mode !== "prebuilt" && mode !== "source") throw new Error(`--mode must be prebuilt or source, not ${mode}`);

const llamaDir = ensureLlamaSource();
const cmakeJs = join(require.resolve("cmake-js/package.json", { paths: [root] }), "..", "bin", "cmake-js");
// node-addon-api reports its include folder wrapped in quotes, for gyp.
const addonApiDir = require("node-addon-api").include.replace(/"/g, "");
const sanitize = process.env.INFERALIGNER_SANITIZE ?? "";
const outDir = join(root, "build", `cmake-${mode}${sanitize ? `-${sanitize.replace(/\W+/g, "-")}` : ""}`);
const defines = [`--CDINFERALIGNER_MODE=${mode}`, `--CDLLAMA_SOURCE_DIR=${llamaDir}`, `--CDNODE_ADDON_API_DIR=${addonApiDir}`];
if (sanitize) defines.push(`--CDINFERALIGNER_SANITIZE=${sanitize}`);
let prebuilt;
if (mode === "prebuilt") {
  const candidates = prebuiltCandidates({ gpu });
  if (candidates.length === 0)
    throw new Error(`no prebuilt llama.cpp libraries for ${process.platform}-${process.arch} in @node-llama-cpp/*; use --mode source`);
  prebuilt = candidates[0];
  defines.push(`--CDLLAMA_PREBUILT_DIR=${prebuilt.dir}`);
} else {
  if (process.env.INFERALIGNER_NATIVE === "OFF") defines.push("--CDGGML_NATIVE=OFF");
  // See CMakeLists.txt (INFERALIGNER_NO_AMX): INFERALIGNER_AMX=ON keeps AMX in a native build.
  if (process.env.INFERALIGNER_AMX === "ON") defines.push("--CDINFERALIGNER_NO_AMX=OFF");
  if (process.env.INFERALIGNER_LLAMA_TOOLS === "ON") defines.push("--CDINFERALIGNER_LLAMA_TOOLS=ON");
  try {
    execFileSync("ccache", ["--version"], { stdio: "ignore" });
    defines.push("--CDCMAKE_C_COMPILER_LAUNCHER=ccache", "--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache");
  } catch {
    /* no ccache: plain build */
  }
}

const jobs = String(Math.max(1, (await import("node:os")).availableParallelism()));
console.error(`[inferaligner] building the addon (${mode}${prebuilt ? `, ${prebuilt.variant}` : ""}) in ${outDir}`);
execFileSync(process.execPath, [cmakeJs, "compile", "--directory", root, "--out", outDir, "--parallel", jobs, ...defines], {
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, CMAKE_BUILD_PARALLEL_LEVEL: jobs },
});

// build/Release/ always holds the addon that the package loads, with whatever it needs beside it.
const release = resolve(argValue("--out-dir") ?? join(root, "build", "Release"));
rmSync(release, { recursive: true, force: true });
mkdirSync(release, { recursive: true });
copyFileSync(join(outDir, "Release", "inferaligner.node"), join(release, "inferaligner.node"));
if (prebuilt) {
  for (const file of readdirSync(prebuilt.dir)) {
    if (/\.(so|dylib|dll)$/.test(file) || /\.so\./.test(file)) copyFileSync(join(prebuilt.dir, file), join(release, file));
  }
}
const info = { mode, variant: prebuilt?.variant ?? "source-cpu", llamaCpp: pin.tag, commit: pin.commit, builtAt: new Date().toISOString() };
writeFileSync(join(release, "build-info.json"), JSON.stringify(info, null, 2) + "\n");

if (args.includes("--prebuild")) {
  const dest = join(root, "prebuilds", `${process.platform}-${process.arch}`);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  cpSync(release, dest, { recursive: true });
  console.error(`[inferaligner] prebuilt binary copied to ${dest}`);
}
console.error(`[inferaligner] built ${join(release, "inferaligner.node")}`);
