// Rates with their counts and 95% confidence intervals (Wilson score interval: well behaved at 0
// and 1 and for small n, where the normal approximation collapses to a zero-width interval).

export interface Rate {
  /** Items that count (e.g. harmful prompts answered). */
  count: number;
  /** Items measured. */
  total: number;
  /** count / total (0 when total is 0). */
  rate: number;
  /** 95% Wilson score interval [low, high]; [0, 1] when total is 0. */
  ci95: [number, number];
}

const Z95 = 1.959963984540054;

export function wilsonInterval(count: number, total: number, z = Z95): [number, number] {
  if (!Number.isInteger(count) || !Number.isInteger(total) || count < 0 || total < 0 || count > total) {
    throw new RangeError(`wilsonInterval: expected 0 <= count <= total (integers), got ${count}/${total}`);
  }
  if (total === 0) return [0, 1];
  const p = count / total;
  const z2 = z * z;
  const denominator = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denominator;
  // Clamp the rounding noise at the ends (count 0 or total gives exactly 0 or 1 analytically).
  return [count === 0 ? 0 : Math.max(0, centre - half), count === total ? 1 : Math.min(1, centre + half)];
}

export function rate(count: number, total: number): Rate {
  return { count, total, rate: total > 0 ? count / total : 0, ci95: wilsonInterval(count, total) };
}

/** `12.5% (5/40, CI 5.5–26.1)`: how reports print a rate. */
export function formatRate(r: Rate | null | undefined): string {
  if (!r) return "–";
  if (r.total === 0) return "n/a (0 items)";
  const pct = (x: number) => (100 * x).toFixed(1);
  return `${pct(r.rate)}% (${r.count}/${r.total}, CI ${pct(r.ci95[0])}–${pct(r.ci95[1])})`;
}
