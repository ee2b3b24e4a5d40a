// The charts of report.html as inline SVG (no scripts): rate bars with their 95% intervals, and the
// gate's margins as small multiples (one histogram per set on shared axes). Layout sizes come from
// an upper estimate of the text widths, so that labels fit the space they are given.
import { EVAL_SETS, type EvalSetName } from "./items.js";
import { SET_TITLES, type RateChart } from "./reportTable.js";

export const escapeHtml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Chart text size in px (the page's `svg text` rule). */
export const CHART_FONT_PX = 12;

/**
 * An upper estimate of a label's width in px at `px` font size, for sans-serif faces (DejaVu Sans,
 * the widest common one, is about 0.55–0.65 em per lowercase letter or digit).
 */
export function textWidth(s: string, px = CHART_FONT_PX): number {
  let em = 0;
  for (const ch of s) {
    if (" .,:;'|!()[]ijlft".includes(ch)) em += 0.4;
    else if ("mwMW%—".includes(ch)) em += 1;
    else if ("−+=<>~".includes(ch)) em += 0.85;
    else if (ch >= "A" && ch <= "Z") em += 0.75;
    else em += 0.66;
  }
  return em * px;
}

/** A step of 1, 2 or 5 times a power of ten giving about `target` intervals over `span`. */
export function niceStep(span: number, target = 5): number {
  const raw = span / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

/** Ticks at multiples of a nice step, from the last one at or below `lo` to the first at or above `hi`. */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; step: number } {
  const step = niceStep(hi - lo, target);
  const [first, last] = [Math.floor(lo / step + 1e-9), Math.ceil(hi / step - 1e-9)];
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number.parseFloat((i * step).toPrecision(12)));
  return { ticks, step };
}

/** A tick's label with as many decimals as the step needs, and a real minus sign. */
export function tickLabel(x: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const s = Math.abs(x).toFixed(decimals);
  return x < 0 && Number(s) !== 0 ? `−${s}` : s;
}

/**
 * Counts per bin of `bins` equal bins over [lo, hi], each closed on the right, (a, b], like the gate
 * (it opens when score > threshold, so a margin of exactly 0 falls left of a bin edge at 0); `lo`
 * itself goes to the first bin, values outside [lo, hi] to the nearest end bin.
 */
export function histogram(values: readonly number[], lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (const x of values) counts[Math.min(bins - 1, Math.max(0, Math.ceil((x - lo) / width - 1e-9) - 1))]! += 1;
  return counts;
}

const CONFIG_COLORS = ["#8a8f98", "#2f6fdb", "#d9822b", "#2e9d5b"];
const SET_COLORS: Record<EvalSetName, string> = { harmful: "#d64545", jailbreak: "#9b51e0", harmless: "#2e9d5b", overRefusal: "#c98a12", utility: "#3b82c4" };
const f1 = (x: number) => x.toFixed(1);
const text = (x: number, y: number, s: string, attrs = "") => `<text x="${f1(x)}" y="${f1(y)}"${attrs ? ` ${attrs}` : ""}>${escapeHtml(s)}</text>`;
const figure = (caption: string, width: number, height: number, label: string, parts: string[]) =>
  `<figure><figcaption>${escapeHtml(caption)}</figcaption><svg viewBox="0 0 ${f1(width)} ${f1(height)}" width="${f1(width)}" height="${f1(height)}" role="img" aria-label="${escapeHtml(label)}">${parts.join("")}</svg></figure>`;

/** Horizontal bars with 95% interval whiskers, one group per metric, one bar per configuration; each bar's label in the table's words. */
export function rateChartSvg(chart: RateChart): string {
  const bars = chart.groups.flatMap((g) => g.bars);
  const rowH = 22;
  const left = Math.max(...bars.map((b) => textWidth(b.name))) + 16;
  const plotW = 360;
  const labelX = left + plotW + 10;
  const width = Math.max(
    labelX + Math.max(...bars.map((b) => textWidth(b.label))) + 8,
    ...chart.groups.map((g) => textWidth(g.label, CHART_FONT_PX) * 1.1 + 8),
  );
  const height = (bars.length + chart.groups.length) * rowH + 36;
  const parts: string[] = [];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = left + t * plotW;
    parts.push(`<line x1="${f1(x)}" x2="${f1(x)}" y1="24" y2="${height - 6}" class="grid"/>`, text(x, 16, `${t * 100}%`, `text-anchor="middle" class="muted"`));
  }
  let y = 28;
  for (const g of chart.groups) {
    parts.push(text(4, y + 15, g.label, `class="group"`));
    y += rowH;
    for (const b of g.bars) {
      parts.push(text(left - 8, y + 15, b.name, `text-anchor="end"`));
      if (b.rate && b.rate.total > 0) {
        const [lo, hi] = b.rate.ci95;
        parts.push(
          `<rect x="${f1(left)}" y="${y + 4}" width="${f1(b.rate.rate * plotW)}" height="${rowH - 8}" fill="${CONFIG_COLORS[b.color % CONFIG_COLORS.length]}"><title>${escapeHtml(b.label)}</title></rect>`,
        );
        parts.push(`<line x1="${f1(left + lo * plotW)}" x2="${f1(left + hi * plotW)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" class="ci"/>`);
      }
      parts.push(text(labelX, y + 15, b.label, b.rate && b.rate.total > 0 ? "" : `class="muted"`));
      y += rowH;
    }
  }
  return figure(chart.title, width, height, chart.title, parts);
}

/** The shared axes of the margin histograms: x ticks, bins aligned to them, and the y scale (share of a set per bin). */
function marginAxes(sets: ReadonlyArray<{ values: number[] }>, thresholdFinite: boolean) {
  const all = sets.flatMap((s) => s.values);
  let lo = Math.min(...all, ...(thresholdFinite ? [0] : []));
  let hi = Math.max(...all, ...(thresholdFinite ? [0] : []));
  if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
  const x = niceTicks(lo, hi, 6);
  const binsPerTick = 4;
  const bins = (x.ticks.length - 1) * binsPerTick;
  const [xLo, xHi] = [x.ticks[0]!, x.ticks[x.ticks.length - 1]!];
  const hists = sets.map((s) => histogram(s.values, xLo, xHi, bins));
  const peak = Math.max(...hists.flatMap((h, i) => h.map((c) => c / sets[i]!.values.length)));
  const y = niceTicks(0, peak, 4);
  return { x, xLo, xHi, bins, hists, y, yHi: y.ticks[y.ticks.length - 1]! };
}

/**
 * Gate margins (score - threshold) as small multiples: one histogram per set, stacked on the same
 * x and y axes, each titled with its set (the legend); the threshold is the dashed line at 0.
 */
export function marginChartSvg(margins: Record<EvalSetName, number[]>, thresholdFinite: boolean): string {
  const sets = EVAL_SETS.map((s) => ({ set: s, values: margins[s].filter(Number.isFinite) })).filter((s) => s.values.length > 0);
  if (sets.length === 0) return "<p>No gate scores recorded.</p>";
  const a = marginAxes(sets, thresholdFinite);
  const yLabels = a.y.ticks.map((t) => `${tickLabel(100 * t, 100 * a.y.step)}%`);
  const xLabels = a.x.ticks.map((t) => tickLabel(t, a.x.step));
  const left = Math.max(...yLabels.map((l) => textWidth(l))) + 12;
  const plotW = 600;
  const width = left + plotW + textWidth(xLabels[xLabels.length - 1]!) / 2 + 8;
  // A first row for the threshold's label, when there is a threshold line.
  const [titleH, plotH, gap, top] = [20, 72, 10, thresholdFinite ? 22 : 4];
  const panelH = titleH + plotH + gap;
  const height = top + sets.length * panelH + 44;
  const xOf = (v: number) => left + ((v - a.xLo) / (a.xHi - a.xLo)) * plotW;
  const parts: string[] = [];
  const binW = plotW / a.bins;
  sets.forEach(({ set, values }, k) => {
    const y0 = top + k * panelH + titleH;
    const yOf = (share: number) => y0 + plotH - (share / a.yHi) * plotH;
    parts.push(
      `<rect x="${f1(left)}" y="${y0 - 15}" width="10" height="10" fill="${SET_COLORS[set]}"/>`,
      text(left + 14, y0 - 6, `${SET_TITLES[set]}: ${values.length} prompt${values.length === 1 ? "" : "s"}`),
    );
    a.y.ticks.forEach((t, i) =>
      parts.push(
        `<line x1="${f1(left)}" x2="${f1(left + plotW)}" y1="${f1(yOf(t))}" y2="${f1(yOf(t))}" class="grid"/>`,
        text(left - 6, yOf(t) + 4, yLabels[i]!, `text-anchor="end" class="muted"`),
      ),
    );
    for (const t of a.x.ticks) parts.push(`<line x1="${f1(xOf(t))}" x2="${f1(xOf(t))}" y1="${y0}" y2="${y0 + plotH}" class="grid"/>`);
    a.hists[k]!.forEach((count, i) => {
      if (count === 0) return;
      const share = count / values.length;
      const [from, to] = [a.xLo + (i * (a.xHi - a.xLo)) / a.bins, a.xLo + ((i + 1) * (a.xHi - a.xLo)) / a.bins];
      const tip = `${SET_TITLES[set]}: ${count} of ${values.length} in (${tickLabel(from, a.x.step / 10)}, ${tickLabel(to, a.x.step / 10)}]`;
      parts.push(
        `<rect x="${f1(left + i * binW + 0.5)}" y="${f1(yOf(share))}" width="${f1(binW - 1)}" height="${f1(y0 + plotH - yOf(share))}" fill="${SET_COLORS[set]}"><title>${escapeHtml(tip)}</title></rect>`,
      );
    });
    parts.push(`<line x1="${f1(left)}" x2="${f1(left + plotW)}" y1="${y0 + plotH}" y2="${y0 + plotH}" class="axis"/>`);
  });
  const bottom = top + sets.length * panelH - gap;
  // Low enough to clear the last panel's "0%" at the corner.
  a.x.ticks.forEach((t, i) => parts.push(text(xOf(t), bottom + 20, xLabels[i]!, `text-anchor="middle" class="muted"`)));
  const axisTitle = thresholdFinite ? "gate score − threshold (mean over gate layers)" : "gate score (mean over gate layers)";
  parts.push(text(left + plotW / 2, bottom + 38, axisTitle, `text-anchor="middle"`));
  if (thresholdFinite) parts.push(...thresholdMarks(xOf(0), width, { panels: sets.length, top, panelH, titleH, plotH }));
  const caption = thresholdFinite
    ? "Gate score minus threshold, one histogram per set (share of the set per bin); right of the dashed line opens the gate"
    : "Gate score, one histogram per set (share of the set per bin); the threshold was set to ±infinity, so no line";
  return figure(caption, width, height, "gate score distributions", parts);
}

/** The threshold's dashed line through each panel's plot (never a panel's title) and its label above. */
function thresholdMarks(zeroX: number, width: number, g: { panels: number; top: number; panelH: number; titleH: number; plotH: number }): string[] {
  const label = "threshold: right of it opens";
  const labelX = Math.min(Math.max(zeroX, textWidth(label) / 2 + 2), width - textWidth(label) / 2 - 2);
  const lines = Array.from({ length: g.panels }, (_, k) => {
    const y1 = g.top + k * g.panelH + g.titleH;
    return `<line x1="${f1(zeroX)}" x2="${f1(zeroX)}" y1="${y1}" y2="${y1 + g.plotH}" class="threshold"/>`;
  });
  return [...lines, text(labelX, g.top - 8, label, `text-anchor="middle"`)];
}
