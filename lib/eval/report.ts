// Turns the records of a run into numbers (report.json) and two readable forms: a paper-style
// Markdown table (report.md) and a self-contained HTML page with charts (report.html; inline SVG,
// no scripts, no external resources). The numbers are pure functions in metrics.ts and tradeoff.ts.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEGENERATE_COVERAGE } from "./degeneration.js";
import { EVAL_SETS, type EvalItem, type EvalSetName } from "./items.js";
import type { KeywordJudge, Verdict } from "./judges.js";
import { configMetrics, gateMetrics, indexRun, noSets, verdictFor, withReductions, type RunIndex } from "./metrics.js";
import { formatRate, type Rate } from "./rates.js";
import type { ConfigMetrics, EvalReport, EvalSample, JudgeInfo } from "./reportTypes.js";
import { configNames, type EvalConfigName, type EvalRecord, type EvalRunIdentity } from "./runEval.js";
import { refuseTradeoff } from "./tradeoff.js";

export type { ConfigMetrics, EvalReport, EvalSample, GateMetrics, JudgeInfo, RefuseTradeoffRow, Speed } from "./reportTypes.js";
export { verdictFor } from "./metrics.js";

const SETS = EVAL_SETS;

function readJson(url: URL): Record<string, unknown> {
  const path = url.pathname;
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
function samplesOf(run: RunIndex, configs: readonly EvalConfigName[], keyword: KeywordJudge, modelVerdicts: ReadonlyMap<string, Verdict> | undefined, count: number): EvalSample[] {
  return SETS.flatMap((set) =>
    spreadPicks(run.items(set), count).map((item) => {
      const responses: EvalSample["responses"] = {};
      for (const config of configs) {
        const r = run.record(config, item.key);
        if (!r) continue;
        const keywordsOnly = set === "overRefusal" || set === "harmless";
        const v = keywordsOnly ? (r.stopReason === "refused" ? { refused: true, by: "guidance" as const } : keyword.judge(r.text)) : verdictFor(r, keyword, modelVerdicts);
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

const pct = (x: number | null) => (x === null ? "–" : `${(100 * x).toFixed(1)}%`);
const SET_TITLES: Record<EvalSetName, string> = { harmful: "harmful", jailbreak: "jailbreak", harmless: "harmless", overRefusal: "over-refusal (must answer)", utility: "utility (code tasks)" };

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
  const harmfulJudge = j.name === "model" ? `model judge ${j.model?.file} (sha256 ${j.model?.sha256.slice(0, 12)}), strict safe/unsafe parse` : `keyword judge (${j.markers} markers from ${j.markersSource})`;
  return `ASR and jailbreak ASR: ${harmfulJudge}; refuse mode's fixed answer counts as a refusal. Over-refusal: keyword judge (${j.markers} markers from ${j.markersSource}). Preservation: exact text equality with the baseline.`;
}

export function renderMarkdown(r: EvalReport): string {
  const id = r.identity;
  const lines: string[] = [];
  lines.push(`# InferAligner evaluation: ${id.model.file}`, "");
  lines.push(`Model ${id.model.file} (${id.model.architecture}, ${id.model.layerCount} blocks, width ${id.model.embeddingLength}, sha256 ${id.model.sha256.slice(0, 12)}); ${describeGuidance(r)}; greedy, at most ${id.config.maxTokens} new tokens.`, "");
  lines.push(`Items: ${SETS.filter((s) => r.counts[s] > 0).map((s) => `${SET_TITLES[s]} ${r.counts[s]}`).join(", ")}.${r.errors.length ? ` ${r.errors.length} item run(s) failed and are left out (see report.json).` : ""}`, "");
  lines.push(`Judges: ${judgeLine(r)}`, "");
  lines.push(...mainTableLines(r));
  lines.push("");
  lines.push("Rates: percentage (count/total, 95% Wilson interval).");
  const unjudged = r.configs.filter((c) => c.unjudged > 0);
  if (unjudged.length) lines.push(`No verdict from the model judge (left out): ${unjudged.map((c) => `${c.config} ${c.unjudged}`).join(", ")}.`);
  lines.push(`Degenerate: responses in which one repeated word 3-gram covers more than ${100 * DEGENERATE_COVERAGE}% of the words, over all responses of the configuration and (in brackets) over those whose gate opened.`);
  const drift = r.configs.filter((c) => SETS.some((s) => c.changedWithGateClosedBySet[s] > 0));
  if (drift.length) {
    const bySet = (c: ConfigMetrics) => SETS.filter((s) => c.changedWithGateClosedBySet[s] > 0).map((s) => `${SET_TITLES[s]} ${c.changedWithGateClosedBySet[s]}`).join(", ");
    lines.push(`WARNING: responses changed although the gate stayed closed: ${drift.map((c) => `${c.config} (${bySet(c)})`).join("; ")}.`);
  } else if (r.configs.length > 1) {
    lines.push("Every response whose gate stayed closed equals the baseline's, in every set.");
  }
  lines.push("", "## Gate", "");
  lines.push(...gateTableLines(r));
  lines.push("");
  lines.push(`Gate accuracy (harmful vs harmless): ${pct(r.gate.accuracy)}; ROC AUC ${r.gate.auc === null ? "–" : r.gate.auc.toFixed(3)}; jailbreak vs harmless AUC ${r.gate.jailbreakAuc === null ? "–" : r.gate.jailbreakAuc.toFixed(3)}.`, "");
  if (r.refuseTradeoff) {
    lines.push("## Refuse mode at other thresholds", "", TRADEOFF_NOTE, "");
    lines.push(...tradeoffTableLines(r), "");
  }
  lines.push(`inferaligner ${r.versions.inferaligner}, llama.cpp ${r.versions.llamaCppCommit.slice(0, 12)} (node-llama-cpp ${r.versions.nodeLlamaCpp}), Node ${r.versions.node}; ${r.generatedAt}.`, "");
  return lines.join("\n");
}

const TRADEOFF_NOTE =
  "Computed from the baseline run, not run again: refuse mode answers with its fixed refusal when the gate opens and exactly as unguided when it stays closed, " +
  "so its rates at any threshold follow from the baseline's gate scores and answers. The stricter thresholds are chosen on this run's own harmless prompts (in-sample): " +
  "use them to pick a threshold for a new evaluation, not as held-out results.";

function tradeoffTableLines(r: EvalReport): string[] {
  const lines = ["| threshold | chosen as | harmful gate open | ASR | jailbreak ASR | over-refusal | harmless preserved |", "|---|---|---|---|---|---|---|"];
  for (const t of r.refuseTradeoff ?? []) {
    lines.push(`| ${t.threshold.toFixed(4)} | ${t.label === "run" ? "this run's" : t.label} | ${formatRate(t.harmfulOpen)} | ${formatRate(t.asr)} | ${formatRate(t.jailbreakAsr)} | ${formatRate(t.overRefusal)} | ${formatRate(t.preservation)} |`);
  }
  return lines;
}

function gateTableLines(r: EvalReport): string[] {
  const lines = ["| set | gate open |", "|---|---|"];
  for (const s of SETS) if (r.gate.open[s]) lines.push(`| ${SET_TITLES[s]} | ${formatRate(r.gate.open[s])} |`);
  return lines;
}

/** An ASR cell that says how many responses the model judge left without a verdict. */
function judgedRate(r: Rate | null, unjudged: number): string {
  if (unjudged === 0) return formatRate(r);
  if (!r || r.total === 0) return `n/a (${unjudged} without a verdict)`;
  return `${formatRate(r)}; ${unjudged} without a verdict`;
}

/** What a configuration is, for people: which vectors steer. */
export function configTitle(r: EvalReport, config: EvalConfigName): string {
  if (config === "baseline") return "baseline (unguided)";
  if (config === "steer") return r.identity.steer ? "InferAligner steer, cross-model (aligned SSV)" : "InferAligner steer (self: target's own SSV)";
  if (config === "self") return "InferAligner steer, self (target's own SSV)";
  return "InferAligner refuse (SIMPLE)";
}

function mainTableLines(r: EvalReport): string[] {
  const withUtility = r.counts.utility > 0;
  const lines = [
    `| configuration | ASR | jailbreak ASR | over-refusal | harmless preserved | degenerate (gate open) |${withUtility ? " code pass@1 |" : ""} gen tok/s |`,
    `|---|---|---|---|---|---|${withUtility ? "---|" : ""}---|`,
  ];
  const base = r.configs[0]!;
  for (const c of r.configs) {
    const speed = c.speed.generatedTokens === 0
      ? "– (nothing generated)"
      : c === base ? c.speed.generationTokensPerSecond.toFixed(1) : `${c.speed.generationTokensPerSecond.toFixed(1)} (${(c.speed.generationTokensPerSecond / (base.speed.generationTokensPerSecond || 1)).toFixed(3)}x)`;
    // Relative change of the rate against the baseline: a reduction reads −93%, an increase +3%.
    const red = (x: number | null) => (x === null ? "" : ` (${x >= 0 ? "−" : "+"}${Math.abs(100 * x).toFixed(0)}% rel.)`);
    lines.push(`| ${configTitle(r, c.config)} | ${judgedRate(c.asr, c.unjudgedBySet.harmful)}${red(c.asrReduction)} | ${judgedRate(c.jailbreakAsr, c.unjudgedBySet.jailbreak)}${red(c.jailbreakAsrReduction)} | ${formatRate(c.overRefusal)} | ${c.config === "baseline" ? "(reference)" : formatRate(c.preservation)} | ${pct(c.degenerate.rate)} (${c.degenerate.count}/${c.degenerate.total}) [${c.degenerateWhenOpen ? `${pct(c.degenerateWhenOpen.rate)}, ${c.degenerateWhenOpen.count}/${c.degenerateWhenOpen.total}` : "–"}] |${withUtility ? ` ${formatRate(c.utility)}${c === base || !c.utility || !base.utility || base.utility.rate === 0 ? "" : ` (${(c.utility.rate / base.utility.rate).toFixed(3)}x)`} |` : ""} ${speed} |`);
  }
  return lines;
}

const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Horizontal bars with 95% interval whiskers, one group per metric, one bar per configuration. */
function rateChart(title: string, groups: Array<{ label: string; bars: Array<{ name: string; rate: Rate | null; color: number }> }>): string {
  const rowH = 22;
  const left = 190;
  const width = 760;
  const plotW = width - left - 150;
  const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0);
  const height = rows * rowH + 40;
  const parts: string[] = [];
  let y = 30;
  const colors = ["#8a8f98", "#2f6fdb", "#d9822b", "#2e9d5b"];
  for (const g of groups) {
    parts.push(`<text x="4" y="${y + 14}" class="group">${escapeHtml(g.label)}</text>`);
    y += rowH;
    g.bars.forEach((b) => {
      parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${escapeHtml(b.name)}</text>`);
      if (b.rate && b.rate.total > 0) {
        const w = b.rate.rate * plotW;
        const [lo, hi] = b.rate.ci95;
        parts.push(`<rect x="${left}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${colors[b.color % colors.length]}"><title>${escapeHtml(formatRate(b.rate))}</title></rect>`);
        parts.push(`<line x1="${(left + lo * plotW).toFixed(1)}" x2="${(left + hi * plotW).toFixed(1)}" y1="${y + rowH / 2 - 1}" y2="${y + rowH / 2 - 1}" class="ci"/>`);
        parts.push(`<text x="${left + plotW + 6}" y="${y + 14}">${pct(b.rate.rate)} (${b.rate.count}/${b.rate.total})</text>`);
      } else {
        parts.push(`<text x="${left + 4}" y="${y + 14}" class="muted">no items</text>`);
      }
      y += rowH;
    });
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = left + t * plotW;
    parts.push(`<line x1="${x}" x2="${x}" y1="24" y2="${height - 10}" class="grid"/><text x="${x}" y="18" text-anchor="middle" class="muted">${t * 100}%</text>`);
  }
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">${parts.join("")}</svg></figure>`;
}

/** Overlaid histograms of gate margins (score - threshold) per set; the threshold is at 0. */
function marginChart(margins: Record<EvalSetName, number[]>, thresholdFinite: boolean): string {
  const sets = SETS.filter((s) => margins[s].length > 0);
  const all = sets.flatMap((s) => margins[s]).filter(Number.isFinite);
  if (all.length === 0) return "<p>No gate scores recorded.</p>";
  let lo = Math.min(...all, ...(thresholdFinite ? [0] : []));
  let hi = Math.max(...all, ...(thresholdFinite ? [0] : []));
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const bins = 30;
  const width = 640;
  const height = 220;
  const left = 40;
  const plotW = width - left - 10;
  const plotH = height - 50;
  const binOf = (x: number) => Math.min(bins - 1, Math.max(0, Math.floor(((x - lo) / (hi - lo)) * bins)));
  const colors: Record<EvalSetName, string> = { harmful: "#d64545", jailbreak: "#9b51e0", harmless: "#2e9d5b", overRefusal: "#d9a22b", utility: "#3b82c4" };
  const parts: string[] = [];
  const hists = sets.map((s) => {
    const h = new Array<number>(bins).fill(0);
    for (const x of margins[s]) h[binOf(x)]! += 1 / margins[s].length;
    return { s, h };
  });
  const peak = Math.max(...hists.flatMap((h) => h.h), 1e-9);
  for (const { s, h } of hists) {
    h.forEach((v, i) => {
      if (v === 0) return;
      const bh = (v / peak) * plotH;
      parts.push(`<rect x="${(left + (i * plotW) / bins).toFixed(1)}" y="${(20 + plotH - bh).toFixed(1)}" width="${(plotW / bins - 1).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colors[s]}" fill-opacity="0.45"/>`);
    });
  }
  if (thresholdFinite) {
    const zeroX = left + ((0 - lo) / (hi - lo)) * plotW;
    parts.push(`<line x1="${zeroX}" x2="${zeroX}" y1="14" y2="${20 + plotH}" class="threshold"/><text x="${zeroX + 4}" y="12">threshold</text>`);
  }
  parts.push(`<line x1="${left}" x2="${left + plotW}" y1="${20 + plotH}" y2="${20 + plotH}" class="axis"/>`);
  parts.push(`<text x="${left}" y="${height - 16}">${lo.toFixed(3)}</text><text x="${left + plotW}" y="${height - 16}" text-anchor="end">${hi.toFixed(3)}</text>`);
  let lx = left;
  for (const s of sets) {
    parts.push(`<rect x="${lx}" y="${height - 10}" width="10" height="10" fill="${colors[s]}" fill-opacity="0.6"/><text x="${lx + 14}" y="${height - 1}">${escapeHtml(SET_TITLES[s])} (${margins[s].length})</text>`);
    lx += 150;
  }
  const caption = thresholdFinite
    ? "Gate score minus threshold, per set (share of the set per bin); right of the line opens the gate"
    : "Gate score per set (share of the set per bin); the threshold was set to ±infinity, so no line";
  return `<figure><figcaption>${caption}</figcaption><svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="gate score distributions">${parts.join("")}</svg></figure>`;
}

export function renderHtml(r: EvalReport): string {
  const names = r.configs.map((c) => configTitle(r, c.config));
  const group = (label: string, pick: (c: ConfigMetrics) => Rate | null, skipBaseline = false) => ({
    label,
    bars: r.configs.flatMap((c, i) => (skipBaseline && i === 0 ? [] : [{ name: names[i]!, rate: pick(c), color: i }])),
  });
  const md = renderMarkdown(r);
  const htmlTable = (rows: string[]) => {
    const cells = (l: string) => l.split("|").slice(1, -1).map((c) => c.trim());
    const [head, , ...body] = rows;
    return `<table><thead><tr>${cells(head!).map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>${body.map((l) => `<tr>${cells(l).map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
  };
  const mainTable = htmlTable(mainTableLines(r));
  const tradeoff = r.refuseTradeoff ? `<h2>Refuse mode at other thresholds</h2><p class="note">${escapeHtml(TRADEOFF_NOTE)}</p>${htmlTable(tradeoffTableLines(r))}` : "";
  const samples = r.samples
    .map((s) => {
      const resp = Object.entries(s.responses)
        .map(([config, v]) => `<div class="resp"><b>${escapeHtml(config)}</b> <span class="tag ${v!.refused ? "refused" : "answered"}">${v!.refused === null ? "no verdict" : v!.refused ? "refused" : "answered"} (${v!.by})</span><pre>${escapeHtml(v!.text || "(empty)")}</pre></div>`)
        .join("");
      const prompt = s.prompt.length > 400 ? `${s.prompt.slice(0, 400)}…` : s.prompt;
      return `<details><summary><span class="set">${escapeHtml(SET_TITLES[s.set])}</span> gate ${s.gateOpen === null ? "–" : s.gateOpen ? "open" : "closed"}: ${escapeHtml(prompt.slice(0, 120))}</summary><pre class="prompt">${escapeHtml(prompt)}</pre>${resp}</details>`;
    })
    .join("\n");
  const style = `body{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#1d2330}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f3f6}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}svg text{font-size:12px;fill:#1d2330}svg .group{font-weight:600}svg .muted{fill:#7a8190}
svg .ci{stroke:#1d2330;stroke-width:1.5}svg .grid{stroke:#e3e6eb}svg .threshold{stroke:#1d2330;stroke-dasharray:4 3}svg .axis{stroke:#9aa1ad}
pre{white-space:pre-wrap;background:#f6f7f9;padding:6px;margin:4px 0}details{border-top:1px solid #e3e6eb;padding:4px 0}.set{font-weight:600}
.tag{font-size:12px;padding:1px 6px;border-radius:8px}.refused{background:#e4f3e9}.answered{background:#fbe8e8}.note{color:#4a5160}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>InferAligner evaluation: ${escapeHtml(r.identity.model.file)}</title><style>${style}</style></head>
<body>
<h1>InferAligner evaluation</h1>
<p>${escapeHtml(md.split("\n")[2] ?? "")}</p>
<p class="note">${escapeHtml(judgeLine(r))}</p>
${mainTable}
${rateChart("Attack success (lower is better)", [group("ASR, harmful requests", (c) => c.asr), group("ASR, jailbreaks", (c) => c.jailbreakAsr)])}
${rateChart("Harmless use (over-refusal: lower is better; preservation: higher is better)", [group("over-refusal (XSTest-style safe prompts)", (c) => c.overRefusal), group("harmless output identical to baseline", (c) => c.preservation, true)])}
<h2>Gate</h2>
${htmlTable(gateTableLines(r))}
<p>Gate accuracy (harmful vs harmless) ${pct(r.gate.accuracy)}, ROC AUC ${r.gate.auc === null ? "–" : r.gate.auc.toFixed(3)}; jailbreak vs harmless AUC ${r.gate.jailbreakAuc === null ? "–" : r.gate.jailbreakAuc.toFixed(3)}.</p>
${marginChart(r.gate.margins, r.gate.thresholdFinite)}
${tradeoff}
<h2>Sample responses</h2>
${samples}
<p class="note">inferaligner ${escapeHtml(r.versions.inferaligner)}, llama.cpp ${escapeHtml(r.versions.llamaCppCommit.slice(0, 12))} (node-llama-cpp ${escapeHtml(r.versions.nodeLlamaCpp)}), Node ${escapeHtml(r.versions.node)}; generated ${escapeHtml(r.generatedAt)}. All numbers: report.json.</p>
</body></html>
`;
}

export function writeReport(outDir: string, report: EvalReport): { json: string; md: string; html: string } {
  const paths = { json: join(outDir, "report.json"), md: join(outDir, "report.md"), html: join(outDir, "report.html") };
  writeFileSync(paths.json, JSON.stringify(report, null, 2) + "\n");
  writeFileSync(paths.md, renderMarkdown(report));
  writeFileSync(paths.html, renderHtml(report));
  return paths;
}
