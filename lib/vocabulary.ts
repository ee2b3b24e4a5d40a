// The words the API and the CLI accept, each list written once; the types derive from the lists.

/** Gate scores: cos(a, s), or the projection a . s (the paper's score, before its bias). */
export const SCORE_KINDS = ["cosine", "projection"] as const;
export type ScoreKind = (typeof SCORE_KINDS)[number];

/** steer (InferAligner), refuse (answer with a fixed refusal when the gate opens), monitor (report only), off. */
export const GUIDANCE_MODES = ["steer", "refuse", "monitor", "off"] as const;
export type GuidanceMode = (typeof GUIDANCE_MODES)[number];

/** The guided configurations an evaluation can run beside its unguided baseline. */
export const EVAL_MODES = ["steer", "self", "refuse"] as const;
export type EvalMode = (typeof EVAL_MODES)[number];

export function isOneOf<T extends string>(words: readonly T[], value: unknown): value is T {
  return typeof value === "string" && (words as readonly string[]).includes(value);
}

/** "a, b or c": for error messages that list what is accepted. */
export function listOf(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}
