// The engine configurations the benchmark measures against each other: the plain engine and
// guidance (gate closed, gate open, gate open in one pass) on the same prompts.
import { resolveGuidance, type ResolvedGuidance } from "../guidance.js";
import type { LlamaContext } from "../Context.js";
import { tokensPerSecond, type BenchConfig, type Sample } from "./samples.js";

/** One sample of our engine: prompt speed over the whole prefill (an open gate's second prefill included). */
export async function sampleEngine(context: LlamaContext, tokens: number[], genTokens: number, guidance?: ResolvedGuidance): Promise<Sample> {
  context.clear();
  const r = await context.generate(tokens, { maxTokens: genTokens, ...(guidance ? { guidance } : {}) });
  const turn = r.timings.promptTokenCount - r.timings.reusedTokenCount;
  return { pp: tokensPerSecond(turn, r.timings.promptMs), tg: r.timings.generationTokensPerSecond };
}

/**
 * The plain engine and guidance on both prompts. Closed / open forced by the threshold so that each
 * configuration measures what its name says.
 */
export function guidanceConfigs(context: LlamaContext, gate: string, prompts: { harmless: number[]; harmful: number[] }, genTokens: number): BenchConfig[] {
  const closed = resolveGuidance(context.model, { gate, mode: "monitor", threshold: Infinity });
  const open = resolveGuidance(context.model, { gate, mode: "steer", threshold: -Infinity });
  const { harmless, harmful } = prompts;
  const configs: BenchConfig[] = [
    { name: "plain, harmless prompt", run: () => sampleEngine(context, harmless, genTokens), baseline: "plain, harmless prompt" },
    { name: "monitor, gate closed (harmless)", run: () => sampleEngine(context, harmless, genTokens, closed), baseline: "plain, harmless prompt" },
    { name: "plain, harmful prompt", run: () => sampleEngine(context, harmful, genTokens), baseline: "plain, harmful prompt" },
    { name: "steer, gate open (harmful)", run: () => sampleEngine(context, harmful, genTokens, open), baseline: "plain, harmful prompt" },
  ];
  // The same steered blocks with the gate read one block before them: the open gate then costs no
  // second prefill (issue 15).
  const onePassGate = Math.min(...open.steerLayers) - 1;
  if (onePassGate >= 0) {
    const onePass = resolveGuidance(context.model, { gate, mode: "steer", gateLayers: [onePassGate], layers: open.steerLayers, threshold: -Infinity });
    configs.push({
      name: `steer, gate open, one pass (gate block ${onePassGate}, harmful)`,
      run: () => sampleEngine(context, harmful, genTokens, onePass),
      baseline: "plain, harmful prompt",
    });
  }
  return configs;
}
