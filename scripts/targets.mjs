#!/usr/bin/env node
// npm run targets: makes the unaligned twins of Qwen2.5-Coder-0.5B-Instruct that the cross-model
// evaluation steers (method.md, "Unaligned twins"), reproducibly, into the model cache (outside
// git, like the models). Each step is skipped when its output exists and was made from the same
// inputs (the vector file records its model's sha256; the twin records both sha256s).
//   1. the aligned model's safety vectors from the built-in prompt sets (directions from the
//      training split only; the validation split only scores them): `inferaligner extract`;
//   2. the abliterated twin: scripts/twins.py abliterate, block 14's direction;
//   3. with --finetuned, the fine-tuned twin (scripts/finetune-twin.mjs: builds llama-finetune from
//      the bundle, answers the built-in training prompts, trains; about 20 minutes on 2 cores).
// Prints {"aligned", "alignedVectors", "abliterated"[, "finetuned"]} as JSON on stdout.
// Usage: npm run targets [-- --threads N] [--finetuned] [--force]
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readGguf } from "../dist/gguf/reader.js";
import { hashFile } from "../dist/vectors/extract.js";
import { readVectorFile } from "../dist/vectors/vectorFile.js";
import { FINETUNE_RECIPE, MEASURED_WEIGHTS_SHA256, makeFinetunedTwin } from "./finetune-twin.mjs";
import { root } from "./llama-source.mjs";

/** The block whose direction is projected out (method.md: measured to make a fluent, compliant twin). */
export const ABLITERATION_LAYER = 14;

const { values } = parseArgs({
  options: { threads: { type: "string" }, finetuned: { type: "boolean", default: false }, force: { type: "boolean", default: false } },
});
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", ...opts });
// A step's own output goes to stderr: stdout carries only the final JSON, which eval-qwen.sh parses.
const runStep = (cmd, args) => run(cmd, args, { stdio: ["ignore", 2, "inherit"] });
const log = (s) => process.stderr.write(`[targets] ${s}\n`);

const located = JSON.parse(run("python3", [join(root, "scripts", "models.py"), "install"]));
const aligned = located.qwen2;
if (!aligned) throw new Error("Qwen2.5-Coder-0.5B-Instruct is not installed (python3 scripts/models.py install)");
const cache = join(aligned, "..");
const alignedSha = await hashFile(aligned);

const alignedVectors = join(cache, "qwen2.5-coder-0.5b-instruct.builtin-vectors.gguf");
const vectorsFresh = () => existsSync(alignedVectors) && readVectorFile(alignedVectors).source.sha256 === alignedSha;
if (values.force || !vectorsFresh()) {
  log(`extracting the aligned model's vectors (built-in prompt sets) into ${alignedVectors}`);
  runStep(process.execPath, [
    join(root, "dist", "cli", "index.js"),
    "extract",
    "--model",
    aligned,
    "--out",
    alignedVectors,
    ...(values.threads ? ["--threads", values.threads] : []),
  ]);
}
const vectorsSha = await hashFile(alignedVectors);

const abliterated = join(cache, "qwen2.5-coder-0.5b-instruct.abliterated.gguf");
const twinFresh = () => {
  if (!existsSync(abliterated)) return false;
  const m = readGguf(abliterated).metadata;
  return (
    m.get("inferaligner.twin.source_sha256") === alignedSha &&
    m.get("inferaligner.twin.vectors_sha256") === vectorsSha &&
    m.get("inferaligner.twin.layer") === ABLITERATION_LAYER
  );
};
if (values.force || !twinFresh()) {
  log(`abliterating block ${ABLITERATION_LAYER}'s direction out of the aligned model into ${abliterated}`);
  runStep("python3", [
    join(root, "scripts", "twins.py"),
    "abliterate",
    "--model",
    aligned,
    "--vectors",
    alignedVectors,
    "--layer",
    String(ABLITERATION_LAYER),
    "--out",
    abliterated,
  ]);
}

const finetuned = join(cache, "qwen2.5-coder-0.5b-instruct.finetuned.gguf");
const finetunedFresh = () => {
  if (!existsSync(finetuned)) return false;
  const m = readGguf(finetuned).metadata;
  return m.get("inferaligner.twin.source_sha256") === alignedSha && m.get("inferaligner.twin.recipe_version") === FINETUNE_RECIPE.version;
};
if (values.finetuned && (values.force || !finetunedFresh())) {
  log(`fine-tuning the aligned model into ${finetuned}`);
  await makeFinetunedTwin({ aligned, alignedSha, out: finetuned, threads: values.threads ? Number(values.threads) : undefined });
  const weights = run("python3", [join(root, "scripts", "twins.py"), "digest", "--model", finetuned]).trim();
  log(
    weights === MEASURED_WEIGHTS_SHA256
      ? `the fine-tuned twin has the weights the README's results were measured on (sha256 ${weights})`
      : `the fine-tuned twin's weights (sha256 ${weights}) are not those the README's results were measured on (${MEASURED_WEIGHTS_SHA256}): another CPU rounds differently, so eval:qwen refuses the committed folder for it (set OUT)`,
  );
}
const made = { aligned, alignedVectors, abliterated, ...(finetunedFresh() ? { finetuned } : {}) };
process.stdout.write(JSON.stringify(made) + "\n");
