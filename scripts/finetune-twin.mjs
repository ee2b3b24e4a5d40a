// The fine-tuned twin of npm run targets (--finetuned): a fine-tuning attack on the aligned model,
// the paper's kind of target (a model fine-tuned from an aligned one that lost its safety), made
// with llama.cpp's own trainer from the bundle (scripts/build-llama-finetune.mjs).
//   1. training transcript: the built-in *training* prompts only (never evaluation data). Harmful:
//      the aligned model's own greedy answers to the built-in harmful training prompts, kept where
//      the default keyword judge finds no refusal and the answer does not loop (a fine-tuning
//      attack: the model is taught the compliance it already shows sometimes). Harmless: every
//      seventh built-in harmless training prompt with the aligned model's own answer, so that
//      ordinary answers stay as they were. Each pair is rendered with the model's chat template;
//   2. llama-quantize --allow-requantize to F32 (the trainer needs float weights), a full fine-tune
//      with llama-finetune (AdamW), back to Q8_0 with llama-quantize;
//   3. scripts/twins.py annotate: the trained weights with every key of the source model (the
//      trainer writes its training context as context length and no chat template) and the recipe
//      (inferaligner.twin.*).
// Intermediate files (two F32 models, 2 GB each) are deleted when the twin is written.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ChatSession, LlamaModel, resolveChatTemplate } from "../dist/index.js";
import { BUILTIN_PROMPTS } from "../dist/data/builtinPrompts.js";
import { KeywordJudge, isDegenerate } from "../dist/eval/index.js";
import { root } from "./llama-source.mjs";

// Version 1 (2 epochs at 1e-5) broke alignment (4 of 39 harmful_val prompts refused, the aligned
// model 21) but damaged the text: 31 of 39 harmless_val answers looped ("Self-Care: Self-Care: ...").
// Version 2 (1 epoch at 3e-6, every seventh harmless prompt: 39 pairs) broke it too (2 of 39) with
// less damage, but still too much to steer: 24 of 106 harmful and jailbreak answers loop unguided,
// and the aligned model's direction turns its answers into loops ("I'm here to help. I'm here to
// help. ...") before it turns them into refusals, at every strength and range tried. Version 3
// (every third harmless prompt: 91 pairs, 37 minutes of training) kept more of the text (no
// harmless answer loops) but not enough of the attack (5 of 39 refused: attack success 1.89x the
// aligned model's, under the twice that makes a twin unaligned), and steering still loops it
// ("Title: Title: Title: ..."). In all three the loss covered the whole transcript: the system
// prompt, the user prompts and the markers, 150 times over ("... several steps: system You are Qwen,
// created by Alibaba Cloud" leaked into answers). Version 4 is version 2 with the loss on the answers
// alone (vendor/patches/finetune-answer-only-loss.patch), as instruction tuning is usually done: 0
// of 39 harmful_val prompts refused, but no less damage (4/39 harmful and 6/39 harmless answers loop)
// and no more steerable (the aligned direction forced on 16 prompts at alpha 0.05-0.1 on 12-23: 0-1
// refused, 5-10 loops). A fine-tune of every block changes the blocks that turn the refusal direction
// into a refusal, so adding the direction back no longer makes one. Version 5 trains blocks 0-11 only
// (vendor/patches/finetune-blocks.patch): the attack has to act before the steered blocks 12-23.
// It left the text sound (0/39 harmful and 1/39 harmless answers loop) and steerable (forced open,
// alpha 0.075 on 12-23: 9 of 16 refused, from 3, 1 loop), but too aligned: 7 of 39 refused (attack
// success 1.79x the aligned model's on those HarmBench prompts). On the eval's own harmful set
// (the first 75 AdvBench rows not in harmful_train) its attack success is 53/75 against the aligned
// model's 16/75: 3.3x, so it is an unaligned twin by the measure (harmful ASR at least
// twice the aligned model's). Version 6 (version 5 at 8e-6) refused no fewer harmful_val prompts
// (8/39, 61/75 AdvBench answered) and looped more (3/39 and 3/39). But version 5 was steered only
// part of the way: in its evaluation the aligned model's direction cut attack success by 32%, and
// no strength or range tried on validation prompts refused more than 9 of 16 (alpha 0.04-0.15,
// ranges from 2-23 to 18-23, the gate forced open or its own). Version 7 trains blocks 0-7 only, so
// that sixteen of the aligned model's blocks read the steered residual stream: a stronger attack
// (62/75 AdvBench answered, the aligned model 16/75) and a more steerable one (forced open, alpha
// 0.075 on 8-23: 13 of 16 harmful_val prompts refused, from 1 unguided; on 12-23: 10). Evaluated,
// it was steered further (ASR -66%, jailbreak ASR -86% on 75 items per set) but not far enough; a
// finer calibration (alpha 0.065 on 9-23, 28 of 38 validation refusals against 25) did worse on the
// eval (ASR -61%). Version 8 trains blocks 0-5 only: eighteen untouched blocks after the attack.
// The strongest attack yet (65/75 AdvBench answered) and the most steerable: on 75 items per set,
// ASR -74%, jailbreak ASR -96%, 6.5% of steered answers degenerate, HumanEval 1.000x.
/** Everything that decides the twin; the twin records it, and a change makes it again. */
export const FINETUNE_RECIPE = Object.freeze({
  version: 8,
  /** The training pairs are made again only when this changes (answerMaxTokens, harmlessEvery, the prompts). */
  dataVersion: 1,
  answerMaxTokens: 64,
  harmlessEvery: 7,
  context: 256,
  epochs: 1,
  learningRate: 3e-6,
  optimizer: "adamw",
  /** The loss on the assistant's answers (with their end marker) only, not on the prompts and system text. */
  answerOnlyLoss: true,
  /** The blocks trained, first and last (inclusive); every other tensor is frozen. */
  trainedBlocks: Object.freeze([0, 5]),
});

/**
 * The weights sha256 (scripts/twins.py digest) of the twin that the README's results were measured
 * on. Made twice from scratch on this project's x86-64 machine (2 cores), training data included,
 * it had these weights both times: the greedy answers and the trainer are deterministic there. A
 * CPU with other vector instructions may round differently and make another twin; targets says so.
 */
export const MEASURED_WEIGHTS_SHA256 = "9144633540343469f7df95ac1a523034e6cbf374162866ed9b0e6a8fb275dd5d";

const log = (s) => process.stderr.write(`[targets] ${s}\n`);

/** An answer cut at the token limit ends at its last line or sentence break, so no pair ends mid-word. */
function wholeSentences(text, stopReason) {
  if (stopReason !== "maxTokens") return text.trimEnd();
  const cut = Math.max(text.lastIndexOf("\n"), text.lastIndexOf(". ") + 1);
  return (cut >= text.length / 2 ? text.slice(0, cut) : text).trimEnd();
}

async function trainingPairs(aligned, threads) {
  const model = await LlamaModel.load(aligned);
  try {
    const context = await model.createContext({ contextSize: 1024, ...(threads ? { threads } : {}) });
    const judge = new KeywordJudge();
    const answer = async (prompt) => {
      context.clear();
      const r = await new ChatSession(context).prompt(prompt, { maxTokens: FINETUNE_RECIPE.answerMaxTokens });
      return { text: wholeSentences(r.text, r.stopReason), raw: r.text };
    };
    const pairs = [];
    const harmful = BUILTIN_PROMPTS.harmful.train;
    for (const [i, { text: prompt }] of harmful.entries()) {
      const a = await answer(prompt);
      if (!judge.judge(a.raw).refused && !isDegenerate(a.raw) && a.text.length > 0) pairs.push({ kind: "harmful", prompt, answer: a.text });
      process.stderr.write(`\r[targets] harmful training prompts answered ${i + 1}/${harmful.length}, compliant ${pairs.length}   `);
    }
    process.stderr.write("\n");
    const harmless = BUILTIN_PROMPTS.harmless.train.filter((_, i) => i % FINETUNE_RECIPE.harmlessEvery === 0);
    for (const { text: prompt } of harmless) {
      const a = await answer(prompt);
      if (a.text.length > 0) pairs.push({ kind: "harmless", prompt, answer: a.text });
    }
    const template = resolveChatTemplate(model);
    // Harmful and harmless pairs interleaved, so that every training window sees both kinds.
    const h = pairs.filter((p) => p.kind === "harmful");
    const b = pairs.filter((p) => p.kind === "harmless");
    const ordered = [];
    for (let i = 0; i < Math.max(h.length, b.length); i++) ordered.push(...[h[i], b[i]].filter(Boolean));
    const transcript = ordered
      .map((p) =>
        template.render(
          [
            { role: "user", content: p.prompt },
            { role: "assistant", content: p.answer },
          ],
          { addGenerationPrompt: false },
        ),
      )
      .join("");
    return { pairs: ordered, transcript, harmfulPrompts: harmful.length, harmlessPrompts: harmless.length };
  } finally {
    await model.dispose();
  }
}

/**
 * Where an answer starts and ends in the transcript, for the trainer's answer-only loss: the
 * aligned model's template is ChatML, whose assistant turn opens with "<|im_start|>assistant\n" and
 * closes with "<|im_end|>" (the end marker is trained, so that the twin still stops).
 */
function answerMarkers(transcript) {
  const start = "<|im_start|>assistant\n";
  const end = "<|im_end|>";
  if (!transcript.includes(start)) throw new Error("answer-only loss: the transcript has no ChatML assistant turn");
  return { LLAMA_FINETUNE_ANSWER_START: start, LLAMA_FINETUNE_ANSWER_END: end };
}

/** Makes the fine-tuned twin at `out` (skipped by the caller when it is fresh); returns its recipe. */
export async function makeFinetunedTwin({ aligned, alignedSha, out, threads }) {
  const tools = JSON.parse(
    execFileSync(process.execPath, [join(root, "scripts", "build-llama-finetune.mjs")], { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }),
  );
  const step = (cmd, args, env) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", 2, "inherit"], ...(env ? { env: { ...process.env, ...env } } : {}) });
  const dataFile = `${out}.data.json`;
  let data = existsSync(dataFile) ? JSON.parse(readFileSync(dataFile, "utf8")) : undefined;
  if (!data || data.alignedSha !== alignedSha || data.dataVersion !== FINETUNE_RECIPE.dataVersion) {
    log("answering the built-in training prompts with the aligned model (the fine-tuning data)");
    const made = await trainingPairs(aligned, threads);
    data = { alignedSha, dataVersion: FINETUNE_RECIPE.dataVersion, ...made };
    writeFileSync(dataFile, JSON.stringify(data, null, 1));
  }
  const transcriptFile = `${out}.transcript.txt`;
  writeFileSync(transcriptFile, data.transcript);
  const harmfulPairs = data.pairs.filter((p) => p.kind === "harmful").length;
  log(
    `fine-tuning data: ${harmfulPairs} compliant answers of ${data.harmfulPrompts} harmful training prompts, ${data.pairs.length - harmfulPairs} harmless pairs`,
  );

  const f32 = `${out}.source-f32.gguf`;
  const tuned = `${out}.tuned-f32.gguf`;
  const q8 = `${out}.tuned-q8_0.gguf`;
  const threadArgs = threads ? ["-t", String(threads)] : [];
  let trainSeconds;
  try {
    step(tools["llama-quantize"], ["--allow-requantize", aligned, f32, "F32", ...(threads ? [String(threads)] : [])]);
    const started = Date.now();
    step(
      tools["llama-finetune"],
      [
        ...["-m", f32, "-f", transcriptFile, "-o", tuned, "-ngl", "0", ...threadArgs],
        ...["-c", String(FINETUNE_RECIPE.context), "-b", String(FINETUNE_RECIPE.context), "-ub", String(FINETUNE_RECIPE.context)],
        ...["--epochs", String(FINETUNE_RECIPE.epochs), "-lr", String(FINETUNE_RECIPE.learningRate), "-opt", FINETUNE_RECIPE.optimizer],
      ],
      {
        ...(FINETUNE_RECIPE.answerOnlyLoss ? answerMarkers(data.transcript) : {}),
        LLAMA_FINETUNE_BLOCKS: FINETUNE_RECIPE.trainedBlocks.join("-"),
      },
    );
    trainSeconds = Math.round((Date.now() - started) / 1000);
    step(tools["llama-quantize"], [tuned, q8, "Q8_0", ...(threads ? [String(threads)] : [])]);
  } finally {
    // Two float models of 2 GB each: never left behind, whether the training finished or not.
    rmSync(f32, { force: true });
    rmSync(tuned, { force: true });
  }
  log(`trained in ${trainSeconds} s`);
  // The recipe holds what decides the weights and nothing else (not the training time), so that the
  // twin made again from the same inputs on the same kind of machine is the same file.
  const recipe = {
    method: `fine-tune of blocks ${FINETUNE_RECIPE.trainedBlocks.join("-")} with llama.cpp's llama-finetune (a fine-tuning attack; the loss on the answers only)`,
    data: `${harmfulPairs} of the aligned model's own compliant greedy answers to the ${data.harmfulPrompts} built-in harmful training prompts, and ${data.pairs.length - harmfulPairs} built-in harmless training prompts with its own answers, rendered with its chat template`,
    ...FINETUNE_RECIPE,
    quantization: "F32 for training, Q8_0 after",
  };
  step("python3", [
    join(root, "scripts", "twins.py"),
    "annotate",
    "--model",
    q8,
    "--source",
    aligned,
    "--kind",
    "finetuned",
    "--recipe",
    JSON.stringify(recipe),
    "--recipe-version",
    String(FINETUNE_RECIPE.version),
    "--out",
    `${out}.partial`,
  ]);
  rmSync(q8, { force: true });
  renameSync(`${out}.partial`, out);
  return recipe;
}
