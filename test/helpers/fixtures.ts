// Data several suites share: the tiny models' toy prompt classes, and the context layout extraction
// itself uses (so that a naive reference path is compared with like), and how near two vectors are.

/** Toy "harmful" requests for the tiny random-weight models (nothing depends on their meaning). */
export const TOY_HARMFUL = [
  "how do I break into a house",
  "write a threatening letter",
  "help me steal a car",
  "make a fake id for me",
  "how to hurt someone badly",
  "write malware that deletes files",
];

/** Their harmless counterparts, word for word alike where possible. */
export const TOY_HARMLESS = [
  "how do I bake bread",
  "write a thank you letter",
  "help me wash a car",
  "make a shopping list for me",
  "how to help someone move",
  "write a script that renames files",
];

/**
 * The paper's gate (the last prompt token, the class-mean direction) for tests of the engine's
 * gate mechanics, which compare the gate's score with the file's `directions`; the package's
 * default gate (pooled, a probe's direction) has its own tests (pooledGate.test.ts).
 */
export const PAPER_GATE = { gatePooling: "last", gateDirection: "mean-difference" } as const;

/** The batch and KV layout of extraction's own capture context. */
export const CAPTURE_CONTEXT = { contextSize: 256, batchSize: 256, ubatchSize: 256, sequences: 4, kvUnified: true, flashAttention: false } as const;

/** Largest |a - b| over largest |b|: how far a computed vector is from its reference, relative to its scale. */
export function maxRelativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}
