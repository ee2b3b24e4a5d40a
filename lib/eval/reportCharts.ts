// The charts of report.html as inline SVG (no scripts): rate bars with their 95% intervals, and
// histograms of the gate's margins per set.
import { EVAL_SETS, type EvalSetName } from "./items.js";
import { formatRate } from "./rates.js";
import { pct, SET_TITLES, type RateChart } from "./reportTable.js";

export const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Horizontal bars with 95% interval whiskers, one group per metric, one bar per configuration. */
export function rateChartSvg({ title, groups }: RateChart): string {
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
export function marginChartSvg(margins: Record<EvalSetName, number[]>, thresholdFinite: boolean): string {
  const sets = EVAL_SETS.filter((s) => margins[s].length > 0);
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
