// Turns the records of a run into numbers (report.json) and two readable forms: a paper-style
// Markdown table (report.md) and a self-contained HTML page with charts (report.html; inline SVG,
// no scripts, no external resources). The numbers are pure functions (metrics.ts, tradeoff.ts);
// both pages render one table model (reportTable.ts: reportMarkdown.ts, reportHtml.ts).
import { fileURLToPath } from "node:url";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EVAL_SETS, type EvalItem, type EvalSetName } from "./items.js";
import type { KeywordJudge, Verdict } from "./judges.js";
import { configMetrics, gateMetrics, indexRun, noSets, verdictFor, withReductions, type RunIndex } from "./metrics.js";
import { renderHtml } from "./reportHtml.js";
import { renderMarkdown } from "./reportMarkdown.js";
import type { EvalReport, EvalSample, JudgeInfo } from "./reportTypes.js";
import { configNames, type EvalConfigName, type EvalRecord, type EvalRunIdentity } from "./runEval.js";
import { refuseTradeoff } from "./tradeoff.js";

export type { ConfigMetrics, EvalReport, EvalSample, GateMetrics, JudgeInfo, RefuseTradeoffRow, Speed } from "./reportTypes.js";
export { verdictFor } from "./metrics.js";
export { renderHtml } from "./reportHtml.js";
export { renderMarkdown } from "./reportMarkdown.js";
export { configTitle } from "./reportTable.js";

const SETS = EVAL_SETS;

function readJson(url: URL): Record<string, unknown> {
  const path = fileURLToPath(url); // not url.pathname: a folder with a space in its name is %20 there
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : {};
}

export function versions(): EvalReport["versions"] {
  const pkg = readJson(new URL("../../package.json", import.meta.url));
  const pin = readJson(new URL("../../vendor/llama.cpp.json", import.meta.url));
  return {
    inferaligner: String(pkg.version ?? "unknown"),
    nodeLlamaCpp: String(pin.nodeLlamaCpp ?? "unknown"),
    llamaCppCommit: String(pin.commit ?? "unknown"),
    node: process.version,
  };
}

/** `n` items spread evenly over the list (all of them when there are no more), so that jailbreak samples cover several templates. */
export function spreadPicks<T>(all: readonly T[], n: number): T[] {
  return all.length <= n ? [...all] : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
}

/** A few items per set with every configuration's response and its verdict (harmless sets by keywords: over-refusal is what they show). */
function samplesOf(
  run: RunIndex,
  configs: readonly EvalConfigName[],
  keyword: KeywordJudge,
  modelVerdicts: ReadonlyMap<string, Verdict> | undefined,
  count: number,
): EvalSample[] {
  return SETS.flatMap((set) =>
    spreadPicks(run.items(set), count).map((item) => {
      const responses: EvalSample["responses"] = {};
      for (const config of configs) {
        const r = run.record(config, item.key);
        if (!r) continue;
        const keywordsOnly = set === "overRefusal" || set === "harmless";
        const v = keywordsOnly
          ? r.stopReason === "refused"
            ? { refused: true, by: "guidance" as const }
            : keyword.judge(r.text)
          : verdictFor(r, keyword, modelVerdicts);
        responses[config] = { text: r.text, refused: v.refused, by: v.by };
      }
      const gate = run.record("baseline", item.key)?.gate;
      return { set, prompt: item.prompt, gateOpen: gate ? gate.open : null, responses };
    }),
  );
}

export function computeReport(args: {
  items: readonly EvalItem[];
  records: readonly EvalRecord[];
  identity: EvalRunIdentity;
  keyword: KeywordJudge;
  judge: JudgeInfo;
  modelVerdicts?: ReadonlyMap<string, Verdict>;
  excluded?: Record<EvalSetName, number>;
  sampleCount?: number;
}): EvalReport {
  const { items, records, identity, keyword, modelVerdicts } = args;
  const run = indexRun(items, records);
  const configs = configNames(identity.config);
  return {
    generatedAt: new Date().toISOString(),
    versions: versions(),
    identity,
    judge: args.judge,
    counts: Object.fromEntries(SETS.map((s) => [s, run.items(s).length])) as Record<EvalSetName, number>,
    errors: records.filter((r) => r.stopReason === "error").map((r) => ({ key: r.key, config: r.config, error: r.error ?? "" })),
    excluded: args.excluded ?? noSets(),
    configs: withReductions(configs.map((config) => configMetrics(config, run, keyword, modelVerdicts))),
    gate: gateMetrics(run, records),
    refuseTradeoff: refuseTradeoff(items, run, keyword, modelVerdicts),
    samples: samplesOf(run, configs, keyword, modelVerdicts, args.sampleCount ?? 4),
  };
}

export function writeReport(outDir: string, report: EvalReport): { json: string; md: string; html: string } {
  const paths = { json: join(outDir, "report.json"), md: join(outDir, "report.md"), html: join(outDir, "report.html") };
  writeFileSync(paths.json, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(paths.md, renderMarkdown(report));
  writeFileSync(paths.html, renderHtml(report));
  return paths;
}
