#!/usr/bin/env node
// Builds llama.cpp's own llama-finetune and llama-quantize from the pinned bundle, for the
// fine-tuned twin (npm run targets -- --finetuned). They are built from a patched copy of the source
// in build/llama-finetune/src, so the addon's own build (vendor/llama.cpp) stays unpatched:
//   vendor/patches/finetune-graph-size.patch: the backward graph does not fit in the graph size
//     llama.cpp reserves for inference (GGML_ASSERT(cgraph->n_nodes < cgraph->size) before the
//     first step, method.md "Unaligned twins"); 32 nodes a tensor instead of 8;
//   vendor/patches/finetune-parse-special.patch: the training text is a chat transcript, whose
//     markers (<|im_start|>, <|im_end|>) must become the special tokens, not plain text;
//   vendor/patches/finetune-answer-only-loss.patch: the loss on the answers alone (the trainer
//     predicts every token of the text): with LLAMA_FINETUNE_ANSWER_START and _END set, every label
//     outside an answer is masked, and the CPU cross-entropy gradient is made right for a masked
//     (all-zero) label row, which it otherwise treats as if its labels summed to 1;
//   vendor/patches/finetune-blocks.patch: with LLAMA_FINETUNE_BLOCKS=first-last, only those blocks
//     are trained (the trainer's parameter filter), the rest of the model stays as it is.
// Output: build/llama-finetune/bin/{llama-finetune,llama-quantize}; prints their paths as JSON.
// Usage: node scripts/build-llama-finetune.mjs
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { findExecutable } from "./find-executable.mjs";
import { ensureLlamaSource, pin, root } from "./llama-source.mjs";

const PATCHES = ["finetune-graph-size.patch", "finetune-parse-special.patch", "finetune-answer-only-loss.patch", "finetune-blocks.patch"].map((name) =>
  join(root, "vendor", "patches", name),
);
const TOOLS = ["llama-finetune", "llama-quantize"];
const base = join(root, "build", "llama-finetune");
const src = join(base, "src");
const tree = join(base, "cmake");
const bin = join(base, "bin");
const log = (s) => process.stderr.write(`[build-llama-finetune] ${s}\n`);
const sh = (cmd, args) => execFileSync(cmd, args, { stdio: ["ignore", 2, "inherit"] });

// The patched copy is made again whenever the pin or a patch changes.
const stamp = createHash("sha256").update(pin.commit);
for (const patch of PATCHES) stamp.update(readFileSync(patch));
const stampFile = join(base, "source.stamp");
const wanted = stamp.digest("hex");
if (!existsSync(stampFile) || readFileSync(stampFile, "utf8") !== wanted) {
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const upstream = ensureLlamaSource();
  log(`copying llama.cpp ${pin.tag} into ${src} and applying ${PATCHES.length} patches`);
  sh("git", ["clone", "--quiet", "--shared", upstream, src]);
  sh("git", ["-C", src, "-c", "advice.detachedHead=false", "checkout", "--quiet", pin.commit]);
  for (const patch of PATCHES) sh("git", ["-C", src, "apply", patch]);
  writeFileSync(stampFile, wanted);
}

// The flags of the addon's source build (CMakeLists.txt): native code, AMX off (some VMs report AMX
// without granting its register state; GCC keeps an explicit -mno-* over what -march implies).
const noAmx = process.arch === "x64" && process.platform !== "win32" ? "-mno-amx-tile -mno-amx-int8 -mno-amx-bf16" : "";
sh("cmake", [
  "-S",
  src,
  "-B",
  tree,
  "-DCMAKE_BUILD_TYPE=Release",
  "-DBUILD_SHARED_LIBS=OFF",
  "-DGGML_NATIVE=ON",
  "-DGGML_BACKEND_DL=OFF",
  "-DLLAMA_BUILD_COMMON=ON",
  "-DLLAMA_BUILD_EXAMPLES=ON",
  "-DLLAMA_BUILD_TOOLS=ON",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_SERVER=OFF",
  "-DLLAMA_CURL=OFF",
  "-DLLAMA_OPENSSL=OFF",
  `-DCMAKE_C_FLAGS=${noAmx}`,
  `-DCMAKE_CXX_FLAGS=${noAmx}`,
]);
sh("cmake", ["--build", tree, "--config", "Release", "--parallel", String(os.availableParallelism()), "--target", ...TOOLS]);

mkdirSync(bin, { recursive: true });
const out = {};
for (const tool of TOOLS) {
  const built = findExecutable(tree, tool);
  if (!built) throw new Error(`${tool} was not found under ${tree}`);
  out[tool] = join(bin, tool);
  copyFileSync(built, out[tool]);
  chmodSync(out[tool], 0o755);
}
log(`built ${TOOLS.join(", ")} in ${bin}`);
process.stdout.write(JSON.stringify(out) + "\n");
