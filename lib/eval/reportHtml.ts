// report.html: the report's table model as a self-contained page (inline SVG charts, no scripts, no
// external resources), plus sample responses to read.
import { escapeHtml, marginChartSvg, rateChartSvg } from "./reportCharts.js";
import type { EvalReport, EvalSample } from "./reportTypes.js";
import { reportView, SET_TITLES, type Table } from "./reportTable.js";

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#1d2330}
p,summary,pre{overflow-wrap:anywhere}td{overflow-wrap:break-word}
.table{overflow-x:auto;margin:8px 0 16px}table{border-collapse:collapse}th,td{border:1px solid #d5d9e0;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f1f3f6}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto}svg text{font-size:12px;fill:#1d2330}svg .group{font-weight:600}svg .muted{fill:#5f6673}
svg .ci{stroke:#1d2330;stroke-width:1.5}svg .grid{stroke:#e3e6eb}svg .threshold{stroke:#1d2330;stroke-dasharray:4 3}svg .axis{stroke:#9aa1ad}
pre{white-space:pre-wrap;background:#f6f7f9;padding:6px;margin:4px 0}details{border-top:1px solid #e3e6eb;padding:4px 0}.set{font-weight:600}
.tag{font-size:12px;padding:1px 6px;border-radius:8px}.refused{background:#e4f3e9}.answered{background:#fbe8e8}.unjudged{background:#eceef2}.note{color:#4a5160}.warning{color:#b42318;font-weight:600}`;

export function htmlTable(t: Table): string {
  const row = (cells: string[], tag: "th" | "td") => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
  // In a box that scrolls sideways when a narrow window cannot fit the columns.
  return `<div class="table"><table><thead>${row(t.columns, "th")}</thead><tbody>${t.rows.map((r) => row(r, "td")).join("")}</tbody></table></div>`;
}

function sampleHtml(s: EvalSample): string {
  const resp = Object.entries(s.responses)
    .map(([config, v]) => {
      const verdict = v!.refused === null ? "unjudged" : v!.refused ? "refused" : "answered";
      return `<div class="resp"><b>${escapeHtml(config)}</b> <span class="tag ${verdict}">${verdict === "unjudged" ? "no verdict" : verdict} (${v!.by})</span><pre>${escapeHtml(v!.text || "(empty)")}</pre></div>`;
    })
    .join("");
  const prompt = s.prompt.length > 400 ? `${s.prompt.slice(0, 400)}…` : s.prompt;
  const gate = s.gateOpen === null ? "–" : s.gateOpen ? "open" : "closed";
  return `<details><summary><span class="set">${escapeHtml(SET_TITLES[s.set])}</span> gate ${gate}: ${escapeHtml(prompt.slice(0, 120))}</summary><pre class="prompt">${escapeHtml(prompt)}</pre>${resp}</details>`;
}

export function renderHtml(r: EvalReport): string {
  const v = reportView(r);
  const note = (s: string) => `<p class="${s.startsWith("WARNING") ? "warning" : "note"}">${escapeHtml(s)}</p>`;
  const tradeoff = v.tradeoff ? `<h2>Refuse mode at other thresholds</h2>\n${note(v.tradeoff.note)}\n${htmlTable(v.tradeoff.table)}` : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(v.title)}</title><style>${STYLE}</style></head>
<body>
<h1>InferAligner evaluation</h1>
<p>${escapeHtml(v.setup)}</p>
<p>${escapeHtml(v.items)}</p>
${note(v.judges)}
${htmlTable(v.main)}
${v.notes.map(note).join("\n")}
${v.charts.map(rateChartSvg).join("\n")}
<h2>Gate</h2>
${htmlTable(v.gate)}
<p>${escapeHtml(v.gateSummary)}</p>
${marginChartSvg(r.gate.margins, r.gate.thresholdFinite)}
${tradeoff}
<h2>Sample responses</h2>
${r.samples.map(sampleHtml).join("\n")}
<p class="note">${escapeHtml(v.footer)}; generated ${escapeHtml(r.generatedAt)}. All numbers: report.json.</p>
</body></html>
`;
}
