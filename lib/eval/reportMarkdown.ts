// report.md: the report's table model as a paper-style Markdown page.
import type { EvalReport } from "./reportTypes.js";
import { reportView, type Table } from "./reportTable.js";

/** A Markdown table (cells are written as they are: the model's cells hold no `|`). */
export function markdownTable(t: Table): string[] {
  return [`| ${t.columns.join(" | ")} |`, `|${t.columns.map(() => "---|").join("")}`, ...t.rows.map((row) => `| ${row.join(" | ")} |`)];
}

export function renderMarkdown(r: EvalReport): string {
  const v = reportView(r);
  const lines = [`# ${v.title}`, "", v.setup, "", v.items, "", `Judges: ${v.judges}`, ""];
  lines.push(...markdownTable(v.main), "", ...v.notes);
  lines.push("", "## Gate", "", ...markdownTable(v.gate), "", v.gateSummary, "");
  if (v.tradeoff) lines.push("## Refuse mode at other thresholds", "", v.tradeoff.note, "", ...markdownTable(v.tradeoff.table), "");
  lines.push(`${v.footer}; ${r.generatedAt}.`, "");
  return lines.join("\n");
}
