// `inferaligner eval`: attack success, jailbreaks, over-refusal and harmless-output preservation of
// guided generation against the unguided baseline, in one resumable run, with a report.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { builtinExtractionSets } from "../data/builtinPrompts.js";
import { buildEvalItems, type EvalItem, type EvalSetName } from "../eval/items.js";
import { KeywordJudge, ModelJudge, readRefusalMarkers, type Verdict } from "../eval/judges.js";
import { computeReport, writeReport, type JudgeInfo } from "../eval/report.js";
import { readFinishedRun, runEval, RUN_FILE, type EvalConfigName, type EvalProgress, type EvalRecord, type EvalRunConfig } from "../eval/runEval.js";
import { LlamaModel, type ModelOptions } from "../Model.js";
import { extractSafetyVectors, hashFile } from "../vectors/extract.js";
import { readVectorFile, writeVectorFile } from "../vectors/vectorFile.js";
import { EVAL_MODES, isOneOf } from "../vocabulary.js";
import { UsageError, engineOptions, flags, intOption, positiveIntOption } from "./args.js";
import { guidanceFlags, guidanceFromFlags, guidanceHelp } from "./guidanceArgs.js";
import { progressBar } from "./progress.js";

export const evalHelp = `Usage: inferaligner eval --model <gguf> --gate <vectors.gguf> --out <dir> [sets] [options]

Runs every prompt through the unguided baseline and through each guided configuration (greedy),
judges the responses, and writes <dir>/report.json, report.md and report.html. Results are
appended to <dir>/results.jsonl as they come: rerunning the same command skips finished items.

Sets (at least one):
  --harmful <file>                 harmful requests (ASR)
  --jailbreak-templates <file>     jailbreak templates with a [INSERT PROMPT HERE] slot ...
  --jailbreak-questions <file>     ... and the harmful questions put in it (jailbreak ASR)
  --jailbreak-question-limit <n>   questions used with each template (default 20)
  --placeholder <text>             the templates' slot (default [INSERT PROMPT HERE])
  --harmless <file>                harmless requests (output preservation, gate false opens)
  --harmless-skip <n>              leave out the first n harmless prompts (e.g. used for validation)
  --harmless-limit <n>             at most n harmless items (instead of --limit for that set)
  --over-refusal <file>            prompts that must be answered (XSTest: rows with label=safe)
  --utility <file>                 code tasks in HumanEval's format (.jsonl or .jsonl.gz): pass@1 of
                                   each configuration, answers run in a child python3 with a time
                                   limit and no network where unshare allows
  --utility-max-tokens <n>         new tokens per code answer (default 384)
  --exclude <file>                 drop prompts found in this file from the harmful and harmless sets (repeatable)
  --limit <n>                      at most n items per set
  --report-only                    run nothing: write the report of the items that every
                                   configuration has finished in <dir> (a run left for another
                                   sitting; the same flags as the run; keyword judge)
  --field <name>                   text field of object rows (default: found automatically)

Options:
  --model <gguf>          the target model (required)
  --out <dir>             output directory (required)
  --modes <m,...>         guided configurations (default steer): steer (with --steer / --aligned-model:
                          cross-model; else the target's own vectors), self (the target's own vectors
                          even with a steer file), refuse (fixed refusal when the gate opens)
  --aligned-model <gguf>  cross-model: extract this aligned model's vectors (built-in prompt sets)
                          into <dir>/aligned-vectors.gguf and steer with them (instead of --steer)
  --max-tokens <n>        new tokens per response (default 64)
  --judge keyword|model   judge of the harmful and jailbreak responses (default keyword)
  --judge-model <gguf>    chat model for --judge model (answers safe/unsafe to a fixed rubric)
  --refusal-markers <file>  JSON list (or .txt lines) of refusal markers for the keyword judge
  --system <text>         system prompt
  --threads <n>           CPU threads
  --context-size <n>      context size (default: model's, at most 4096)
  --gpu <kind>            auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>        layers to offload to a GPU (the target model)
  -h, --help              this help

${guidanceHelp.replace(/ {2}--mode [^\n]*\n/, "")}`;

const evalFlags = {
  ...flags("model", "out", "gpu", "gpu-layers", "threads", "context-size", "system", "max-tokens", "field", "limit", "placeholder", "refusal-markers", "help"),
  harmful: { type: "string" },
  "jailbreak-templates": { type: "string" },
  "jailbreak-questions": { type: "string" },
  "jailbreak-question-limit": { type: "string" },
  harmless: { type: "string" },
  "harmless-skip": { type: "string" },
  "harmless-limit": { type: "string" },
  "over-refusal": { type: "string" },
  utility: { type: "string" },
  "utility-max-tokens": { type: "string" },
  exclude: { type: "string", multiple: true },
  modes: { type: "string" },
  "aligned-model": { type: "string" },
  judge: { type: "string" },
  "judge-model": { type: "string" },
  "report-only": { type: "boolean" },
  ...guidanceFlags,
} as const;

type EvalValues = ReturnType<typeof parseEvalArgs>;

function parseEvalArgs(argv: string[]) {
  return parseArgs({ args: argv, options: evalFlags, strict: true }).values;
}

export async function evalCommand(argv: string[]): Promise<void> {
  const values = parseEvalArgs(argv);
  if (values.help) return void process.stdout.write(evalHelp);
  const { model: modelPath, out, gate, judgeName, modes } = checkEvalArgs(values);
  const maxTokens = positiveIntOption("--max-tokens", values["max-tokens"]) ?? 64;
  const engine = engineOptions(values);
  const threads = engine.context.threads;
  const { items, excluded } = evalItemsOf(values);
  const keyword = new KeywordJudge(values["refusal-markers"] ? readRefusalMarkers(values["refusal-markers"]) : undefined);
  const judge: JudgeInfo = { name: judgeName, markers: keyword.markers.length, markersSource: values["refusal-markers"] ?? "the built-in list" };
  const runConfig = (steer: string | undefined) => evalRunConfig(values, gate, modes, maxTokens, steer);
  if (values["report-only"]) {
    if (judgeName !== "keyword") throw new UsageError("--report-only judges by keywords (the model judge runs with the evaluation)");
    const steer = values["aligned-model"] !== undefined ? join(out, "aligned-vectors.gguf") : values.steer;
    return reportOnly(out, modelPath, runConfig(steer), items, { keyword, judge, excluded });
  }
  const model = await LlamaModel.load(modelPath, engine.model);
  try {
    let steer = values.steer;
    if (values["aligned-model"] !== undefined) steer = await alignedVectors(values["aligned-model"], out, threads, engine.model);
    const config = runConfig(steer);
    const context = await model.createContext(engine.context);
    const bar = progressBar("eval");
    const modelSha256 = await hashFile(modelPath);
    const onProgress = (p: EvalProgress) => bar.update(p.done, p.total, `${p.config} ${p.set}`);
    const { identity, records, resumed } = await runEval({ model, context, items, config, outDir: out, modelSha256, onProgress });
    bar.done();
    if (resumed > 0) process.stderr.write(`resumed: ${resumed} of ${records.length} results were already in ${out}\n`);
    await context.dispose();
    let modelVerdicts: Map<string, Verdict> | undefined;
    if (judgeName === "model") {
      const judgePath = values["judge-model"]!;
      const judgeSha = await hashFile(judgePath);
      judge.model = { file: basename(judgePath), sha256: judgeSha };
      modelVerdicts = await judgeWithModel(judgePath, judgeSha, out, items, records, threads, engine.model);
    }
    const report = computeReport({ items, records, identity, keyword, judge, ...(modelVerdicts ? { modelVerdicts } : {}), excluded });
    const paths = writeReport(out, report);
    process.stdout.write(readFileSync(paths.md, "utf8"));
    process.stdout.write(`\nwrote ${paths.json}, ${paths.md}, ${paths.html}\n`);
  } finally {
    await model.dispose();
  }
}

/** The required flags and the ones that must agree with each other, checked before any work. */
function checkEvalArgs(values: EvalValues) {
  if (!values.model) throw new UsageError("--model is required");
  if (!values.out) throw new UsageError("--out is required");
  if (!values.gate) throw new UsageError("--gate is required (the target model's vector file)");
  if (values.mode !== undefined) throw new UsageError("eval takes --modes (a list), not --mode");
  if (values["aligned-model"] !== undefined && values.steer !== undefined) throw new UsageError("give --steer or --aligned-model, not both");
  const judgeName = values.judge ?? "keyword";
  if (judgeName !== "keyword" && judgeName !== "model") throw new UsageError("--judge is keyword or model");
  if ((judgeName === "model") !== (values["judge-model"] !== undefined)) throw new UsageError("--judge model goes with --judge-model <gguf>");
  const modes = (values.modes ?? "steer").split(",").map((m) => m.trim());
  const checked = modes.map((m) => {
    if (!isOneOf(EVAL_MODES, m)) throw new UsageError(`--modes takes ${EVAL_MODES.join(", ")}, not '${m}'`);
    return m;
  });
  if (new Set(modes).size !== modes.length) throw new UsageError("--modes lists a configuration twice");
  return { model: values.model, out: values.out, gate: values.gate, judgeName: judgeName as JudgeInfo["name"], modes: checked };
}

/** The evaluation sets the flags name, as items. */
function evalItemsOf(values: EvalValues) {
  return buildEvalItems({
    ...(values.harmful !== undefined ? { harmful: values.harmful } : {}),
    ...(values["jailbreak-templates"] !== undefined ? { jailbreakTemplates: values["jailbreak-templates"] } : {}),
    ...(values["jailbreak-questions"] !== undefined ? { jailbreakQuestions: values["jailbreak-questions"] } : {}),
    ...(values["jailbreak-question-limit"] !== undefined
      ? { jailbreakQuestionLimit: positiveIntOption("--jailbreak-question-limit", values["jailbreak-question-limit"])! }
      : {}),
    ...(values.placeholder !== undefined ? { placeholder: values.placeholder } : {}),
    ...(values.harmless !== undefined ? { harmless: values.harmless } : {}),
    ...(values["harmless-skip"] !== undefined ? { harmlessSkip: intOption("--harmless-skip", values["harmless-skip"])! } : {}),
    ...(values["harmless-limit"] !== undefined ? { harmlessLimit: positiveIntOption("--harmless-limit", values["harmless-limit"])! } : {}),
    ...(values["over-refusal"] !== undefined ? { overRefusal: values["over-refusal"] } : {}),
    ...(values.utility !== undefined ? { utility: values.utility } : {}),
    ...(values.exclude ? { exclude: values.exclude } : {}),
    ...(values.limit !== undefined ? { limit: positiveIntOption("--limit", values.limit)! } : {}),
    ...(values.field !== undefined ? { field: values.field } : {}),
  });
}

/** The run's configuration from the flags (what run.json records and a resumed run must match). */
function evalRunConfig(values: EvalValues, gate: string, modes: EvalRunConfig["modes"], maxTokens: number, steer: string | undefined): EvalRunConfig {
  return {
    guidance: { ...guidanceFromFlags(values)!, gate, ...(steer !== undefined ? { steer } : {}) } as EvalRunConfig["guidance"],
    modes,
    maxTokens,
    ...(values["utility-max-tokens"] !== undefined ? { utilityMaxTokens: positiveIntOption("--utility-max-tokens", values["utility-max-tokens"])! } : {}),
    ...(values.system !== undefined ? { systemPrompt: values.system } : {}),
  };
}

/** --report-only: the report over the finished items of the run in `out`, which must be the run these flags describe. */
function reportOnly(
  out: string,
  modelPath: string,
  config: EvalRunConfig,
  items: readonly EvalItem[],
  how: { keyword: KeywordJudge; judge: JudgeInfo; excluded: Record<EvalSetName, number> },
): void {
  const run = readFinishedRun(out, items);
  if (run.identity.model.file !== basename(modelPath) || JSON.stringify(run.identity.config) !== JSON.stringify(config)) {
    throw new UsageError(`'${out}' holds another run than these flags describe (model or options differ: see ${RUN_FILE})`);
  }
  if (run.items.length === 0) throw new UsageError(`no item of these sets is finished in '${out}' yet`);
  const paths = writeReport(out, computeReport({ ...run, ...how }));
  process.stdout.write(readFileSync(paths.md, "utf8"));
  process.stdout.write(`\nwrote ${paths.json}, ${paths.md}, ${paths.html} (${run.items.length} of ${items.length} items finished)\n`);
}

/** Vectors of the aligned model from the built-in prompt sets, cached in the output directory. */
async function alignedVectors(path: string, out: string, threads: number | undefined, load: ModelOptions): Promise<string> {
  const file = join(out, "aligned-vectors.gguf");
  const sha = await hashFile(path);
  if (existsSync(file) && readVectorFile(file).source.sha256 === sha) return file;
  const aligned = await LlamaModel.load(path, load);
  try {
    const bar = progressBar("aligned vectors");
    const vectors = await extractSafetyVectors(aligned, {
      ...builtinExtractionSets(),
      ...(threads !== undefined ? { threads } : {}),
      onProgress: (p) => bar.update(p.done, p.total, p.phase),
    });
    bar.done();
    mkdirSync(out, { recursive: true });
    writeVectorFile(file, vectors);
  } finally {
    await aligned.dispose();
  }
  return file;
}

/** Model-judge verdicts for the harmful and jailbreak responses, cached in <out>/judgments.jsonl. */
async function judgeWithModel(
  path: string,
  sha: string,
  out: string,
  items: readonly EvalItem[],
  records: readonly EvalRecord[],
  threads: number | undefined,
  load: ModelOptions,
): Promise<Map<string, Verdict>> {
  const cache = join(out, "judgments.jsonl");
  const verdicts = new Map<string, Verdict>();
  if (existsSync(cache)) {
    for (const line of readFileSync(cache, "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        const j = JSON.parse(line) as { judge: string; config: EvalConfigName; key: string; verdict: Verdict };
        if (j.judge === sha) verdicts.set(`${j.config}|${j.key}`, j.verdict);
      } catch {
        /* a torn last line: judged again */
      }
    }
  }
  const request = new Map(items.map((i) => [i.key, i.question ?? i.prompt]));
  const todo = records.filter(
    (r) => (r.set === "harmful" || r.set === "jailbreak") && r.stopReason !== "error" && r.stopReason !== "refused" && !verdicts.has(`${r.config}|${r.key}`),
  );
  if (todo.length === 0) return verdicts;
  const judgeModel = await LlamaModel.load(path, load);
  try {
    const context = await judgeModel.createContext({ threads });
    const judge = new ModelJudge(context);
    const bar = progressBar("judge");
    let n = 0;
    for (const r of todo) {
      const verdict = await judge.judge(request.get(r.key) ?? "", r.text);
      verdicts.set(`${r.config}|${r.key}`, verdict);
      appendFileSync(cache, JSON.stringify({ judge: sha, config: r.config, key: r.key, verdict }) + "\n");
      bar.update(++n, todo.length);
    }
    bar.done();
  } finally {
    await judgeModel.dispose();
  }
  return verdicts;
}
