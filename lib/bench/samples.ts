// The benchmark's schedule and statistics: configurations sampled in interleaved repetitions
// (A B C, C B A, ...), summarised by median and range, and compared with their baseline both as a
// ratio of medians and as the median of per-repetition (paired) ratios with a distribution-free 95%
// interval. Pure functions, apart from the runners collectSamples calls.

/** One measurement: prompt processing and generation speed, tokens per second. */
export interface Sample {
  pp: number;
  tg: number;
}
export interface Stats {
  median: number;
  min: number;
  max: number;
}
/** Median of per-repetition ratios, with a distribution-free 95% confidence interval of that median. */
export interface RatioStats {
  median: number;
  low: number;
  high: number;
  n: number;
}
export interface BenchRow {
  name: string;
  baseline: string;
  pp: Stats;
  tg: Stats;
  /** Ratio of this row's median to the baseline's median. */
  ppRatio: number;
  tgRatio: number;
  /**
   * Ratios of each repetition's sample to the baseline's sample in the same repetition (run next
   * to each other), so that the machine's drift between repetitions cancels.
   */
  pairedPp: RatioStats;
  pairedTg: RatioStats;
}

/** A measured configuration; `baseline` names the configuration its ratios are taken against. */
export interface BenchConfig {
  name: string;
  run: () => Promise<Sample>;
  baseline: string;
}

/** The middle value, or the mean of the two middle values; NaN for no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(xs: readonly number[]): Stats {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
}

/**
 * The median with its 95% confidence interval from order statistics (the sign-test interval):
 * the widest symmetric pair of ranks [k, n+1-k] whose binomial(n, 1/2) coverage is still >= 95%.
 * No assumption about the distribution, which on a shared machine has long tails.
 */
export function medianWithInterval(xs: readonly number[]): RatioStats {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { median: NaN, low: NaN, high: NaN, n };
  // Ranks [j, n-1-j] (0-based) cover the median with probability 1 - 2 P(X <= j), X ~ Binomial(n, 1/2).
  const choose = (a: number, b: number) => {
    let c = 1;
    for (let i = 1; i <= b; i++) c = (c * (a - b + i)) / i;
    return c;
  };
  let k = 0;
  let cdf = choose(n, 0) / 2 ** n; // P(X <= k)
  while (k + 1 < n - 2 - k) {
    const next = cdf + choose(n, k + 1) / 2 ** n;
    if (2 * next > 0.05) break;
    cdf = next;
    k++;
  }
  return { median: median(s), low: s[k]!, high: s[n - 1 - k]!, n };
}

/** Each repetition's sample over the baseline's sample from the same repetition. */
export function pairedRatios(samples: readonly Sample[], baseline: readonly Sample[], key: keyof Sample): number[] {
  return samples.map((x, i) => x[key] / baseline[i]![key]);
}

/** One configuration's row: its samples summarised and set against its baseline's samples. */
export function benchRow(name: string, baseline: string, samples: readonly Sample[], base: readonly Sample[]): BenchRow {
  const pp = summarize(samples.map((x) => x.pp));
  const tg = summarize(samples.map((x) => x.tg));
  return {
    name,
    baseline,
    pp,
    tg,
    ppRatio: pp.median / median(base.map((x) => x.pp)),
    tgRatio: tg.median / median(base.map((x) => x.tg)),
    pairedPp: medianWithInterval(pairedRatios(samples, base, "pp")),
    pairedTg: medianWithInterval(pairedRatios(samples, base, "tg")),
  };
}

/**
 * The order of repetition `rep` (0-based): odd repetitions run the configurations in reverse
 * (A B C, C B A, ...), so that no configuration always runs right after the same neighbour
 * (caches, thermal state).
 */
export function repetitionOrder<T>(configs: readonly T[], rep: number): readonly T[] {
  return rep % 2 === 0 ? configs : [...configs].reverse();
}

/** One warm-up run of each configuration, then `reps` interleaved repetitions; samples by name. */
export async function collectSamples(configs: readonly BenchConfig[], reps: number, log: (line: string) => void): Promise<Map<string, Sample[]>> {
  for (const c of configs) await c.run(); // warm-up
  const samples = new Map<string, Sample[]>(configs.map((c) => [c.name, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const c of repetitionOrder(configs, rep)) samples.get(c.name)!.push(await c.run());
    log(`[bench] repetition ${rep + 1}/${reps}`);
  }
  return samples;
}

/** Tokens per second of `tokens` in `ms` milliseconds. */
export function tokensPerSecond(tokens: number, ms: number): number {
  return (tokens * 1000) / ms;
}
