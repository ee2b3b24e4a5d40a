// `inferaligner calibrate`: choose the steering strength and layer range on validation prompts.
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { calibrateSteering, type CalibrationResult, type CalibrationRow } from "../eval/calibrate.js";
import { KeywordJudge, readRefusalMarkers } from "../eval/judges.js";
import { formatRate } from "../eval/rates.js";
import { LlamaModel } from "../Model.js";
import { readPromptFile } from "../prompts.js";
import { readVectorFile, saveGuidanceDefaults } from "../vectors/vectorFile.js";
import { UsageError, engineOptions, flags, numberOption, positiveIntOption } from "./args.js";
import { resolveGuidance } from "../guidance.js";
import { guidanceFlags, guidanceFromFlags } from "./guidanceArgs.js";
import { progressBar } from "./progress.js";

export const calibrateHelp = `Usage: inferaligner calibrate --model <gguf> --gate <vectors.gguf> --val-harmful <file> --val-harmless <file> [options]

Sweeps the steering strength (alpha relative to each layer's mean activation norm) and the
steered layer range on validation prompts only, and picks the setting with which the most harmful
prompts whose gate opens are refused (keyword judge) among those whose steered answers rarely
degenerate into loops (--max-degenerate); on a tie, the best preservation of harmless answers,
then a one-pass range (no second prefill when the gate opens). Prints the trade-off table; --save
stores the choice in the steer file (the gate file in self mode) as the defaults that guidance
uses when alpha and layers are not given.

Options:
  --model <gguf>          the target model (required)
  --gate <file>           the target's vector file (required)
  --steer <file>          the aligned model's vector file (default: --gate)
  --val-harmful <file>    harmful validation prompts (required)
  --val-harmless <file>   harmless validation prompts (required)
  --limit <n>             at most n prompts of each validation file
  --field <name>          text field of object rows
  --alphas <a,b,...>      relative strengths to try (default 0.05,0.1,0.2,0.4,0.8)
  --layer-ranges <a-b,..> steered ranges to try (default: the steer file's suggestion, all blocks, and
                          the blocks after the gate: a range the gate precedes steers an open gate
                          in the prompt's own pass, with no second prefill; "one pass" in the table)
  --target <r>            share of gate-open harmful prompts that should refuse (reported; default 0.9)
  --max-degenerate <r>    most steered answers that may loop for a setting to be chosen (default 0.1)
  --max-tokens <n>        new tokens per answer (default 32)
  --refusal-markers <file>  JSON list (or .txt lines) of refusal markers for the keyword judge
  --gate-layers <l,...>  --score cosine|projection  --threshold <t>   gate options, as in generate
  --threads <n>           CPU threads
  --gpu <kind>            auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>        layers to offload to a GPU
  --save                  write the chosen setting into the steer file as its defaults
  --json                  print the result as JSON
  -h, --help              this help
`;

function list(flag: string, text: string): number[] {
  return text.split(",").map((x) => {
    const n = numberOption(flag, x.trim());
    if (n === undefined || n <= 0) throw new UsageError(`${flag} expects positive numbers, got '${x}'`);
    return n;
  });
}

function ranges(text: string, layerCount: number): Array<[number, number]> {
  return text.split(",").map((r) => {
    const m = /^\s*(\d+)-(\d+)\s*$/.exec(r);
    if (!m) throw new UsageError(`--layer-ranges expects ranges a-b, got '${r}'`);
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from > to || to >= layerCount) throw new UsageError(`--layer-ranges: ${r} is not a range within 0-${layerCount - 1}`);
    return [from, to];
  });
}

const calibrateFlags = {
  ...flags("model", "gpu", "gpu-layers", "threads", "val-harmful", "val-harmless", "limit", "field", "max-tokens", "refusal-markers", "json", "help"),
  alphas: { type: "string" },
  "layer-ranges": { type: "string" },
  target: { type: "string" },
  "max-degenerate": { type: "string" },
  save: { type: "boolean", default: false },
  ...guidanceFlags,
} as const;

type CalibrateValues = ReturnType<typeof parseCalibrateArgs>;

function parseCalibrateArgs(argv: string[]) {
  return parseArgs({ args: argv, options: calibrateFlags, strict: true }).values;
}

export async function calibrateCommand(argv: string[]): Promise<void> {
  const values = parseCalibrateArgs(argv);
  if (values.help) return void process.stdout.write(calibrateHelp);
  const settings = calibrationSettings(values);
  const guidance = guidanceFromFlags(values)!;
  const steerPath = values.steer ?? settings.gate;
  const engine = engineOptions(values);
  const model = await LlamaModel.load(settings.model, engine.model);
  try {
    const steerFile = readVectorFile(steerPath, model);
    const L = model.info.layerCount;
    // Default ranges: the steer file's suggestion, all blocks, and every block after the gate (the
    // widest range an open gate can steer in its own prompt pass).
    const lastGate = Math.max(...resolveGuidance(model, { ...guidance, mode: "monitor" }).gateLayers);
    const candidates: Array<[number, number]> = [steerFile.suggested.steerLayers, [0, L - 1]];
    if (lastGate + 1 <= L - 1) candidates.push([lastGate + 1, L - 1]);
    const tryRanges = values["layer-ranges"]
      ? ranges(values["layer-ranges"], L)
      : candidates.filter((r, i, all) => all.findIndex((x) => x[0] === r[0] && x[1] === r[1]) === i);
    const context = await model.createContext({ threads: engine.context.threads, contextSize: 2048 });
    const bar = progressBar("calibrate");
    const result = await calibrateSteering({ context, guidance, ...settings.grid, ranges: tryRanges, onProgress: (d, t, note) => bar.update(d, t, note) });
    bar.done();
    const { valHarmful, valHarmless, maxDegenerate, maxTokens, target } = settings.grid;
    if (values.save && result.chosen) {
      saveGuidanceDefaults(steerPath, {
        alphaRelative: result.chosen.alphaRelative,
        steerLayers: result.chosen.steerLayers,
        calibratedOn: `${basename(values["val-harmful"]!)} (${valHarmful.length}) + ${basename(values["val-harmless"]!)} (${valHarmless.length}), most refusals with <= ${maxDegenerate} degenerate, ${maxTokens} tokens, keyword judge`,
      });
    }
    if (values.json) process.stdout.write(JSON.stringify({ ...result, saved: values.save && result.chosen !== null ? steerPath : null }) + "\n");
    else printCalibration(result, { target, maxDegenerate, save: values.save, steerPath });
  } finally {
    await model.dispose();
  }
}

/** The flags checked and read (prompt files, grid, judge) before the model loads. */
function calibrationSettings(values: CalibrateValues) {
  if (!values.model) throw new UsageError("--model is required");
  if (!values.gate) throw new UsageError("--gate is required");
  if (!values["val-harmful"] || !values["val-harmless"]) throw new UsageError("--val-harmful and --val-harmless are required");
  for (const flag of ["alpha", "alpha-relative", "layers", "mode", "refusal"] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag} is what calibrate chooses; use --alphas / --layer-ranges`);
  }
  const limit = positiveIntOption("--limit", values.limit);
  const fileOptions = { ...(values.field ? { field: values.field } : {}), ...(limit ? { limit } : {}) };
  const valHarmful = readPromptFile(values["val-harmful"], fileOptions);
  const valHarmless = readPromptFile(values["val-harmless"], fileOptions);
  const target = numberOption("--target", values.target) ?? 0.9;
  if (!(target > 0 && target <= 1)) throw new UsageError("--target must be in (0, 1]");
  const maxDegenerate = numberOption("--max-degenerate", values["max-degenerate"]) ?? 0.1;
  if (!(maxDegenerate >= 0 && maxDegenerate <= 1)) throw new UsageError("--max-degenerate must be in [0, 1]");
  const maxTokens = positiveIntOption("--max-tokens", values["max-tokens"]) ?? 32;
  const alphas = values.alphas ? list("--alphas", values.alphas) : [0.05, 0.1, 0.2, 0.4, 0.8];
  const markers = values["refusal-markers"];
  const judge = new KeywordJudge(markers ? readRefusalMarkers(markers) : undefined);
  return { model: values.model, gate: values.gate, grid: { valHarmful, valHarmless, target, maxDegenerate, maxTokens, alphas, judge } };
}

function printCalibration(result: CalibrationResult, o: { target: number; maxDegenerate: number; save: boolean; steerPath: string }): void {
  const line = (r: CalibrationRow) =>
    `| ${r.alphaRelative} | ${r.steerLayers.join("-")} | ${formatRate(r.harmfulRefusalWhenOpen)} | ${formatRate(r.harmfulRefusal)} | ${formatRate(r.degenerateWhenOpen)} | ${formatRate(r.harmlessPreserved)} | ${formatRate(r.harmlessRefusal)} | ${r.onePass ? "yes" : "no"} |`;
  process.stdout.write(`gate open: harmful ${formatRate(result.gateOpen.harmful)}, harmless ${formatRate(result.gateOpen.harmless)}\n`);
  process.stdout.write(`unguided refusals: harmful ${formatRate(result.baseline.harmfulRefusal)}, harmless ${formatRate(result.baseline.harmlessRefusal)}\n\n`);
  process.stdout.write(
    "| alpha (relative) | layers | harmful refused, gate open | harmful refused, all | steered answers degenerate | harmless preserved | harmless refused | one pass |\n|---|---|---|---|---|---|---|---|\n",
  );
  for (const r of result.rows) process.stdout.write(line(r) + "\n");
  if (result.chosen) {
    process.stdout.write(
      `\nchosen: alpha relative ${result.chosen.alphaRelative}, layers ${result.chosen.steerLayers.join("-")}` +
        `${result.reachedTarget ? "" : ` (below the target of ${o.target} refused)`}` +
        (o.save ? ` (saved into ${o.steerPath})` : " (not saved: add --save)") +
        "\n",
    );
  } else {
    process.stdout.write(
      `\nno setting to choose (no harmful gate opened, or every setting degenerates in more than ${o.maxDegenerate} of its steered answers); nothing ${o.save ? "saved" : "to save"}\n`,
    );
  }
}
