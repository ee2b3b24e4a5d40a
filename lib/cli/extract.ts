// `inferaligner extract` and `inferaligner inspect`: safety vectors of a model, and what a vector file holds.
import { accessSync, constants, existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LlamaModel } from "../Model.js";
import { DEFAULT_GATE_DIRECTION, DEFAULT_GATE_POOLING, extractSafetyVectors, type GateDirectionKind, type GatePooling } from "../vectors/extract.js";
import { readVectorFile, summarizeVectorFile, writeVectorFile } from "../vectors/vectorFile.js";
import { UsageError, engineOptions, flags, intOption, numberOption, positiveIntOption, templateOption } from "./args.js";
import { extractionSets } from "./extractionSets.js";
import { progressBar } from "./progress.js";

export const extractHelp = `Usage: inferaligner extract --model <gguf> --out <vectors.gguf> [options]

Extracts the model's safety related vectors (per layer: mean last-token activation over harmful
prompts minus that over harmless prompts, prompts rendered with the chat template), calibrates
gate thresholds, and writes a GGUF vector file that llama.cpp also loads as a control vector.
Without prompt files it uses the built-in prompt sets (with their validation split).

Options:
  --model <gguf>          model file (required)
  --out <file>            vector file to write (required)
  --harmful <file>        harmful prompts (.json, .jsonl, .csv, .txt); \`builtin\` names the
                          package's set; repeat the flag to join sets (e.g. --harmful builtin
                          --harmful mine.json: the built-in prompts and yours)
  --harmless <file>       harmless prompts (the same way)
  --val-harmful <file>    validation harmful prompts (per-layer accuracy and ROC AUC; \`builtin\`:
                          the built-in validation split; repeatable)
  --val-harmless <file>   validation harmless prompts (the same way)
  --limit <n>             use at most the first n prompts of each calibration file
  --val-limit <n>         use at most the first n prompts of each validation file
  --field <name>          text field of .json/.jsonl/.csv rows (default: found automatically)
  --templates <file>      prompt templates with a slot (e.g. jailbreak templates): the calibration
                          sets become the templates filled with their prompts (each template once
                          per class, prompts taken in turn), so the vectors separate harmful from
                          harmless requests inside a template; use the file as an --extra-gate
  --val-templates <file>  the same for the validation sets (other templates than --templates); the
                          bare harmless validation prompts stay in, so the default threshold also
                          keeps plain harmless requests closed
  --template-gate <kind>  what a gate from --templates learns: contrast (default: harmful against
                          harmless requests, both inside the templates) or attack (any request
                          inside a template against the bare harmless requests and the built-in
                          wrapped-material prompts (code to complete, texts to translate, data to
                          convert): a gate that opens on the jailbreak's wrapping, whatever it
                          wraps, and not on everyday material)
  --placeholder <text>    the templates' slot (default [INSERT PROMPT HERE])
  --chat-template <file>  Jinja template to render the prompts with instead of the model's (chat
                          sessions that use the file must use the same template)
  --false-open-budget <share>  the default gate threshold opens at most this share of the harmless
                          calibration and validation prompts (default 0.02)
  --gate-pooling <how>    what the gate reads: template (the mean over the chat template's tokens
                          after the user's text) or last (the last prompt token, the paper's gate);
                          default ${DEFAULT_GATE_POOLING}. Steering vectors always use the last token
  --gate-direction <how>  probe (logistic regression on the gate block's activations) or
                          mean-difference (the class means' difference, the paper's); default
                          ${DEFAULT_GATE_DIRECTION}
  --gate-layer <n>        the block the file suggests for its gate (default: the best on validation),
                          e.g. the main gate's block for a file used as an --extra-gate
  --threads <n>           CPU threads
  --gpu <kind>            auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>        layers to offload to a GPU
  --sequences <n>         prompts per decode (default 16)
  --json                  print the summary as JSON
  -h, --help              this help
`;

export const inspectHelp = `Usage: inferaligner inspect <vectors.gguf> [--json]

Prints what a vector file holds: the source model, prompt counts, per-layer norms, thresholds,
validation accuracy and ROC AUC, and the suggested gate layer and steered layer range.
`;

const extractFlags = {
  ...flags("model", "out", "gpu", "gpu-layers", "threads", "chat-template", "field", "limit", "placeholder", "json", "help"),
  // Repeatable: the sets named are joined, in order (\`builtin\` is the package's set).
  harmful: { type: "string", multiple: true },
  harmless: { type: "string", multiple: true },
  "val-harmful": { type: "string", multiple: true },
  "val-harmless": { type: "string", multiple: true },
  "val-limit": { type: "string" },
  templates: { type: "string" },
  "val-templates": { type: "string" },
  "template-gate": { type: "string" },
  sequences: { type: "string" },
  "false-open-budget": { type: "string" },
  "gate-pooling": { type: "string" },
  "gate-layer": { type: "string" },
  "gate-direction": { type: "string" },
} as const;

function parseExtractArgs(argv: string[]) {
  return parseArgs({ args: argv, options: extractFlags }).values;
}

export async function extractCommand(argv: string[]): Promise<void> {
  const values = parseExtractArgs(argv);
  if (values.help) return void process.stdout.write(extractHelp);
  if (!values.model) throw new UsageError("--model is required");
  if (!values.out) throw new UsageError("--out is required");
  const sets = extractionSets(values);
  const template = templateOption(values["chat-template"]);
  checkWritableFolder(values.out); // before minutes of extraction, not after
  const model = await LlamaModel.load(values.model, engineOptions(values).model);
  try {
    const bar = progressBar("extract");
    const vectors = await extractSafetyVectors(model, {
      harmful: sets.harmful.prompts,
      harmless: sets.harmless.prompts,
      ...(sets.valHarmful && sets.valHarmless ? { valHarmful: sets.valHarmful.prompts, valHarmless: sets.valHarmless.prompts } : {}),
      ...(values.threads ? { threads: positiveIntOption("--threads", values.threads)! } : {}),
      ...(template !== undefined ? { template } : {}),
      ...(values.sequences ? { sequences: positiveIntOption("--sequences", values.sequences)! } : {}),
      ...(values["false-open-budget"] !== undefined ? { falseOpenBudget: budgetOption(values["false-open-budget"]) } : {}),
      ...(values["gate-pooling"] !== undefined ? { gatePooling: poolingOption(values["gate-pooling"]) } : {}),
      ...(values["gate-direction"] !== undefined ? { gateDirection: directionOption(values["gate-direction"]) } : {}),
      ...(values["gate-layer"] !== undefined ? { gateLayer: intOption("--gate-layer", values["gate-layer"])! } : {}),
      onProgress: (p) => bar.update(p.done, p.total, p.phase),
    });
    bar.done();
    for (const s of vectors.skipped) process.stderr.write(`skipped ${s.set} #${s.index}: ${s.reason}\n`);
    writeVectorFile(values.out, vectors);
    const summary = extractionSummary(values.out, sets, vectors);
    if (values.json) process.stdout.write(JSON.stringify(summary) + "\n");
    else printExtraction(summary, vectors);
  } finally {
    await model.dispose();
  }
}

function checkWritableFolder(out: string): void {
  const outDir = dirname(resolve(out));
  if (!existsSync(outDir)) throw new UsageError(`--out: the folder ${outDir} does not exist`);
  try {
    accessSync(outDir, constants.W_OK);
  } catch {
    throw new UsageError(`--out: the folder ${outDir} is not writable`);
  }
}

type ExtractionSets = ReturnType<typeof extractionSets>;
type Extracted = Awaited<ReturnType<typeof extractSafetyVectors>>;

/** What --json prints, and what the text summary is made of. */
function extractionSummary(out: string, sets: ExtractionSets, vectors: Extracted) {
  return {
    out,
    sources: {
      harmful: sets.harmful.source,
      harmless: sets.harmless.source,
      valHarmful: sets.valHarmful?.source ?? null,
      valHarmless: sets.valHarmless?.source ?? null,
    },
    counts: vectors.counts,
    gatePoolTokens: vectors.gatePoolTokens,
    gateDirectionKind: vectors.gateDirectionKind,
    suggested: vectors.suggested,
    timings: vectors.timings,
    layers: vectors.layers.map((l) => ({
      layer: l.layer,
      norm: l.norm,
      threshold: l.thresholds.cosine.budget,
      calibrationAccuracy: l.thresholds.cosine.calibrationAccuracy,
      valAccuracy: l.validation?.cosine.accuracy ?? null,
      valAuc: l.validation?.cosine.auc ?? null,
      valOpenHarmful: l.validation?.cosine.openHarmful ?? null,
      valOpenHarmless: l.validation?.cosine.openHarmless ?? null,
    })),
  };
}

function printExtraction(summary: ReturnType<typeof extractionSummary>, vectors: Extracted): void {
  const { counts, timings } = vectors;
  process.stdout.write(
    `wrote ${summary.out}: ${counts.harmful} harmful + ${counts.harmless} harmless prompts` +
      (counts.valHarmful ? `, validated on ${counts.valHarmful} + ${counts.valHarmless}` : "") +
      "\n",
  );
  process.stdout.write(
    `${timings.prompts} prompts, ${timings.tokens} tokens in ${(timings.ms / 1000).toFixed(1)} s ` +
      `(${timings.promptsPerSecond.toFixed(1)} prompts/s, ${timings.tokensPerSecond.toFixed(0)} tokens/s)\n`,
  );
  process.stdout.write(`threshold: cosine, opens at most ${(100 * vectors.falseOpenBudget).toFixed(1)}% of the harmless calibration and validation prompts\n`);
  process.stdout.write(gateReadsLine(vectors.gatePoolTokens, vectors.gateDirectionKind));
  printLayerTable(summary.layers);
  process.stdout.write(
    `suggested gate layer ${vectors.suggested.gateLayer}, steered layers ${vectors.suggested.steerLayers[0]}-${vectors.suggested.steerLayers[1]}\n`,
  );
}

function poolingOption(text: string): GatePooling {
  if (text !== "last" && text !== "template") throw new UsageError(`--gate-pooling is template or last, not ${text}`);
  return text;
}

function directionOption(text: string): GateDirectionKind {
  if (text !== "probe" && text !== "mean-difference") throw new UsageError(`--gate-direction is probe or mean-difference, not ${text}`);
  return text;
}

function gateReadsLine(poolTokens: number, kind: GateDirectionKind): string {
  const reads = poolTokens > 1 ? `the mean of the prompt's last ${poolTokens} tokens (the chat template's after the user's text)` : "the last prompt token";
  return `gate reads: ${reads}; direction: ${kind === "probe" ? "a logistic-regression probe" : "the class-mean difference"}\n`;
}

function budgetOption(text: string): number {
  const share = numberOption("--false-open-budget", text)!;
  if (!(share >= 0 && share < 1)) throw new UsageError(`--false-open-budget is a share in [0, 1), e.g. 0.03; got ${text}`);
  return share;
}

interface LayerRow {
  layer: number;
  norm: number;
  threshold: number;
  calibrationAccuracy: number;
  valAccuracy: number | null;
  valAuc: number | null;
  valOpenHarmful: number | null;
  valOpenHarmless: number | null;
}

// val.acc is at the best-balanced-accuracy threshold; the open columns at the default threshold.
function printLayerTable(layers: LayerRow[]): void {
  const fmt = (x: number | null, d = 3) => (x === null ? "-" : x.toFixed(d));
  const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
  process.stdout.write("layer     |v|  threshold  calib.acc  val.acc  val.auc  val.open.harmful  val.open.harmless\n");
  for (const l of layers) {
    process.stdout.write(
      `${String(l.layer).padStart(5)} ${fmt(l.norm, 2).padStart(7)} ${fmt(l.threshold, 4).padStart(10)} ${fmt(l.calibrationAccuracy).padStart(10)} ${fmt(l.valAccuracy).padStart(8)} ${fmt(l.valAuc).padStart(8)} ${pct(l.valOpenHarmful).padStart(17)} ${pct(l.valOpenHarmless).padStart(18)}\n`,
    );
  }
}

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: flags("json", "help"),
  });
  if (values.help) return void process.stdout.write(inspectHelp);
  if (positionals.length !== 1) throw new UsageError("give exactly one vector file");
  const summary = summarizeVectorFile(readVectorFile(positionals[0]!));
  if (values.json) {
    process.stdout.write(JSON.stringify(summary) + "\n");
    return;
  }
  process.stdout.write(
    `${positionals[0]}: vectors of ${summary.source.fileName} (${summary.modelHint}, ${summary.layerCount} layers x ${summary.embeddingLength}), sha256 ${summary.source.sha256.slice(0, 12)}…\n`,
  );
  process.stdout.write(
    `prompts: ${summary.counts.harmful} harmful, ${summary.counts.harmless} harmless; validation ${summary.counts.valHarmful} + ${summary.counts.valHarmless}\n`,
  );
  process.stdout.write(
    summary.falseOpenBudget === null
      ? "threshold: cosine, best balanced accuracy on the calibration prompts (a file from before the false-open budget)\n"
      : `threshold: cosine, opens at most ${(100 * summary.falseOpenBudget).toFixed(1)}% of the harmless calibration and validation prompts\n`,
  );
  process.stdout.write(gateReadsLine(summary.gatePoolTokens, summary.gateDirectionKind));
  printLayerTable(
    summary.layers.map((l) => ({ ...l, valOpenHarmful: l.validation?.cosine.openHarmful ?? null, valOpenHarmless: l.validation?.cosine.openHarmless ?? null })),
  );
  process.stdout.write(
    `suggested gate layer ${summary.suggested.gateLayer}, steered layers ${summary.suggested.steerLayers[0]}-${summary.suggested.steerLayers[1]}\n`,
  );
}
