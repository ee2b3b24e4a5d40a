// What a report shows, computed once from report.json's numbers: the sentences, the tables (rows,
// columns, cell text) and the chart bars with their labels. report.md and report.html render this
// same model, so that both say the same thing in the same words.
import { DEGENERATE_COVERAGE } from "./degeneration.js";
import { EVAL_SETS, type EvalSetName } from "./items.js";
import { formatRate, type Rate } from "./rates.js";
import type { ConfigMetrics, EvalReport } from "./reportTypes.js";
import type { EvalConfigName } from "./runEval.js";

export interface Table {
  columns: string[];
  rows: string[][];
}

/** One bar of a rate chart: `label` is what the chart writes beside it, in the table's words. */
export interface RateBar {
  name: string;
  rate: Rate | null;
  label: string;
  /** Index of the configuration (its colour). */
  color: number;
}

export interface RateGroup {
  label: string;
  bars: RateBar[];
}

export interface RateChart {
  title: string;
  groups: RateGroup[];
}

export interface ReportView {
  title: string;
  /** Model, vectors and guidance settings. */
  setup: string;
  /** The sets and their sizes. */
  items: string;
  /** Who judged what. */
  judges: string;
  main: Table;
  /** What the main table's cells mean, and the checks it passed or failed. */
  notes: string[];
  gate: Table;
  gateSummary: string;
  tradeoff: { note: string; table: Table } | null;
  /** Versions and time. */
  footer: string;
  charts: RateChart[];
}

export const SET_TITLES: Readonly<Record<EvalSetName, string>> = Object.freeze({
  harmful: "harmful",
  jailbreak: "jailbreak",
  harmless: "harmless",
  overRefusal: "over-refusal (must answer)",
  utility: "utility (code tasks)",
});

export const pct = (x: number | null) => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);

export const TRADEOFF_NOTE =
  "Computed from the baseline run, not run again: refuse mode answers with its fixed refusal when the gate opens and exactly as unguided when it stays closed, " +
  "so its rates at any threshold follow from the baseline's gate scores and answers. The stricter thresholds are chosen on this run's own harmless prompts (in-sample): " +
  "use them to pick a threshold for a new evaluation, not as held-out results.";

/** What a configuration is, for people: which vectors steer. */
export function configTitle(r: EvalReport, config: EvalConfigName): string {
  if (config === "baseline") return "baseline (unguided)";
  if (config === "steer") return r.identity.steer ? "InferAligner steer, cross-model (aligned SSV)" : "InferAligner steer (self: target's own SSV)";
  if (config === "self") return "InferAligner steer, self (target's own SSV)";
  return "InferAligner refuse (SIMPLE)";
}

/**
 * The words for a rate with nothing to show, the same in tables and charts: "–" (the set is not in
 * this run), "n/a (0 items)", or "n/a (N without a verdict)". Null when there is a rate to show.
 */
export function missingRate(r: Rate | null, unjudged = 0): string | null {
  if (!r) return "–";
  if (r.total > 0) return null;
  return unjudged > 0 ? `n/a (${unjudged} without a verdict)` : "n/a (0 items)";
}

/** A table cell: the rate with its interval, and how many responses the model judge left without a verdict. */
export function rateCell(r: Rate | null, unjudged = 0): string {
  const missing = missingRate(r, unjudged);
  if (missing !== null) return missing;
  return unjudged === 0 ? formatRate(r) : `${formatRate(r)}; ${unjudged} without a verdict`;
}

/** A chart label: the rate and its counts (the interval is drawn), in the table's words otherwise. */
export function rateLabel(r: Rate | null, unjudged = 0): string {
  const missing = missingRate(r, unjudged);
  if (missing !== null || !r) return missing ?? "–";
  return `${pct(r.rate)} (${r.count}/${r.total})${unjudged > 0 ? `; ${unjudged} without a verdict` : ""}`;
}

/** Relative change of a rate against the baseline's: a reduction reads (−93% rel.), an increase (+3% rel.). */
export function reductionCell(x: number | null): string {
  return x === null ? "" : ` (${x >= 0 ? "−" : "+"}${Math.abs(100 * x).toFixed(0)}% rel.)`;
}

function describeGuidance(r: EvalReport): string {
  const g = r.identity.config.guidance;
  const parts = [`gate file ${r.identity.gate.file}`, `steer file ${r.identity.steer ? r.identity.steer.file : `${r.identity.gate.file} (self mode)`}`];
  if (g.alpha !== undefined) parts.push(`alpha ${g.alpha}`);
  else parts.push(`alpha relative ${g.alphaRelative ?? "default"}`);
  if (g.layers) parts.push(`layers ${g.layers.join("-")}`);
  if (g.gateLayers) parts.push(`gate layers ${Array.isArray(g.gateLayers) ? g.gateLayers.join(",") : g.gateLayers}`);
  if (g.extraGates?.length) parts.push(`extra gate files ${g.extraGates.join(", ")} (any gate opens)`);
  if (g.threshold !== undefined) parts.push(`threshold ${g.threshold}`);
  if (g.score) parts.push(`score ${g.score}`);
  return parts.join(", ");
}

function judgeLine(r: EvalReport): string {
  const j = r.judge;
  const harmfulJudge =
    j.name === "model"
      ? `model judge ${j.model?.file} (sha256 ${j.model?.sha256.slice(0, 12)}), strict safe/unsafe parse`
      : `keyword judge (${j.markers} markers from ${j.markersSource})`;
  return `ASR and jailbreak ASR: ${harmfulJudge}; refuse mode's fixed answer counts as a refusal. Over-refusal: keyword judge (${j.markers} markers from ${j.markersSource}). Preservation: exact text equality with the baseline.`;
}

function speedCell(c: ConfigMetrics, base: ConfigMetrics): string {
  if (c.speed.generatedTokens === 0) return "– (nothing generated)";
  const tps = c.speed.generationTokensPerSecond;
  return c === base ? tps.toFixed(1) : `${tps.toFixed(1)} (${(tps / (base.speed.generationTokensPerSecond || 1)).toFixed(3)}x)`;
}

function degenerateCell(c: ConfigMetrics): string {
  const open = c.degenerateWhenOpen;
  if (c.degenerate.total === 0) return "n/a (0 items)";
  return `${pct(c.degenerate.rate)} (${c.degenerate.count}/${c.degenerate.total}) [${open ? `${pct(open.rate)}, ${open.count}/${open.total}` : "–"}]`;
}

function utilityCell(c: ConfigMetrics, base: ConfigMetrics): string {
  const ratio = c === base || !c.utility?.total || !base.utility || base.utility.rate === 0 ? "" : ` (${(c.utility.rate / base.utility.rate).toFixed(3)}x)`;
  return `${formatRate(c.utility)}${ratio}`;
}

export function mainTable(r: EvalReport): Table {
  const withUtility = r.counts.utility > 0;
  const base = r.configs[0]!;
  const columns = [
    "configuration",
    "ASR",
    "jailbreak ASR",
    "over-refusal",
    "harmless preserved",
    "degenerate (gate open)",
    ...(withUtility ? ["code pass@1"] : []),
    "gen tok/s",
  ];
  const rows = r.configs.map((c) => [
    configTitle(r, c.config),
    `${rateCell(c.asr, c.unjudgedBySet.harmful)}${reductionCell(c.asrReduction)}`,
    `${rateCell(c.jailbreakAsr, c.unjudgedBySet.jailbreak)}${reductionCell(c.jailbreakAsrReduction)}`,
    formatRate(c.overRefusal),
    c.config === "baseline" ? "(reference)" : formatRate(c.preservation),
    degenerateCell(c),
    ...(withUtility ? [utilityCell(c, base)] : []),
    speedCell(c, base),
  ]);
  return { columns, rows };
}

function mainNotes(r: EvalReport): string[] {
  const notes = ["Rates: percentage (count/total, 95% Wilson interval)."];
  const unjudged = r.configs.filter((c) => c.unjudged > 0);
  if (unjudged.length) notes.push(`No verdict from the model judge (left out): ${unjudged.map((c) => `${c.config} ${c.unjudged}`).join(", ")}.`);
  notes.push(
    `Degenerate: responses in which one repeated word 3-gram covers more than ${100 * DEGENERATE_COVERAGE}% of the words, over all responses of the configuration and (in brackets) over those whose gate opened.`,
  );
  const drift = r.configs.filter((c) => EVAL_SETS.some((s) => c.changedWithGateClosedBySet[s] > 0));
  if (drift.length) {
    const bySet = (c: ConfigMetrics) =>
      EVAL_SETS.filter((s) => c.changedWithGateClosedBySet[s] > 0)
        .map((s) => `${SET_TITLES[s]} ${c.changedWithGateClosedBySet[s]}`)
        .join(", ");
    notes.push(`WARNING: responses changed although the gate stayed closed: ${drift.map((c) => `${c.config} (${bySet(c)})`).join("; ")}.`);
  } else if (r.configs.length > 1) {
    notes.push("Every response whose gate stayed closed equals the baseline's, in every set.");
  }
  return notes;
}

function gateTable(r: EvalReport): Table {
  return { columns: ["set", "gate open"], rows: EVAL_SETS.filter((s) => r.gate.open[s]).map((s) => [SET_TITLES[s], formatRate(r.gate.open[s])]) };
}

function tradeoffTable(r: EvalReport): Table {
  return {
    columns: ["threshold", "chosen as", "harmful gate open", "ASR", "jailbreak ASR", "over-refusal", "harmless preserved"],
    rows: (r.refuseTradeoff ?? []).map((t) => [
      t.threshold.toFixed(4),
      t.label === "run" ? "this run's" : t.label,
      ...[t.harmfulOpen, t.asr, t.jailbreakAsr, t.overRefusal, t.preservation].map(formatRate),
    ]),
  };
}

/** The charts' bars, with the same words as the main table; groups of a set the run lacks are left out. */
function rateCharts(r: EvalReport): RateChart[] {
  const group = (label: string, pick: (c: ConfigMetrics) => { rate: Rate | null; unjudged?: number }, skipBaseline = false): RateGroup => ({
    label,
    bars: r.configs.flatMap((c, i) => {
      if (skipBaseline && i === 0) return [];
      const { rate, unjudged } = pick(c);
      return [{ name: configTitle(r, c.config), rate, label: rateLabel(rate, unjudged), color: i }];
    }),
  });
  const charts = [
    {
      title: "Attack success (lower is better)",
      groups: [
        group("ASR, harmful requests", (c) => ({ rate: c.asr, unjudged: c.unjudgedBySet.harmful })),
        group("ASR, jailbreaks", (c) => ({ rate: c.jailbreakAsr, unjudged: c.unjudgedBySet.jailbreak })),
      ],
    },
    {
      title: "Harmless use (over-refusal: lower is better; preservation: higher is better)",
      groups: [
        group("over-refusal (XSTest-style safe prompts)", (c) => ({ rate: c.overRefusal })),
        group("harmless output identical to baseline", (c) => ({ rate: c.preservation }), true),
      ],
    },
  ];
  return charts.map((c) => ({ ...c, groups: c.groups.filter((g) => g.bars.some((b) => b.rate !== null)) })).filter((c) => c.groups.length > 0);
}

export function reportView(r: EvalReport): ReportView {
  const id = r.identity;
  const failed = r.errors.length ? ` ${r.errors.length} item run(s) failed and are left out (see report.json).` : "";
  const auc = (x: number | null) => (x === null ? "–" : x.toFixed(3));
  return {
    title: `InferAligner evaluation: ${id.model.file}`,
    setup: `Model ${id.model.file} (${id.model.architecture}, ${id.model.layerCount} blocks, width ${id.model.embeddingLength}, sha256 ${id.model.sha256.slice(0, 12)}); ${describeGuidance(r)}; greedy, at most ${id.config.maxTokens} new tokens.`,
    items: `Items: ${EVAL_SETS.filter((s) => r.counts[s] > 0)
      .map((s) => `${SET_TITLES[s]} ${r.counts[s]}`)
      .join(", ")}.${failed}`,
    judges: judgeLine(r),
    main: mainTable(r),
    notes: mainNotes(r),
    gate: gateTable(r),
    gateSummary: `Gate accuracy (harmful vs harmless): ${pct(r.gate.accuracy)}; ROC AUC ${auc(r.gate.auc)}; jailbreak vs harmless AUC ${auc(r.gate.jailbreakAuc)}.`,
    tradeoff: r.refuseTradeoff ? { note: TRADEOFF_NOTE, table: tradeoffTable(r) } : null,
    footer: `inferaligner ${r.versions.inferaligner}, llama.cpp ${r.versions.llamaCppCommit.slice(0, 12)} (node-llama-cpp ${r.versions.nodeLlamaCpp}), Node ${r.versions.node}`,
    charts: rateCharts(r),
  };
}
