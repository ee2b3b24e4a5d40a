// Small helpers for CLI option values; bad values become UsageErrors (exit code 2).
import { readFileSync } from "node:fs";
import type { ParseArgsConfig } from "node:util";
import type { GpuChoice } from "../gpu.js";

export class UsageError extends Error {
  override name = "UsageError";
}

export function numberOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${value}'`);
  return n;
}

export function intOption(flag: string, value: string | undefined): number | undefined {
  const n = numberOption(flag, value);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`${flag} expects an integer, got '${value}'`);
  return n;
}

/** An integer of at least 1 (counts, sizes, threads): 0 or less is a usage error, not "no limit". */
export function positiveIntOption(flag: string, value: string | undefined): number | undefined {
  const n = intOption(flag, value);
  if (n !== undefined && (n < 1 || n > 2 ** 31 - 1)) throw new UsageError(`${flag} must be an integer from 1 to ${2 ** 31 - 1}, got '${value}'`);
  return n;
}

/** A sampling seed: an unsigned 32-bit integer. */
export function seedOption(value: string | undefined): number | undefined {
  const n = intOption("--seed", value);
  if (n !== undefined && (n < 0 || n > 2 ** 32 - 1)) throw new UsageError(`--seed must be an integer from 0 to ${2 ** 32 - 1}, got '${value}'`);
  return n;
}

/** Tells the user which records of a prompt file were left out, and why (never silently). */
export function reportLeftOut(set: { source: string; skipped: ReadonlyArray<{ index: number; reason: string }>; duplicates: number }): void {
  for (const s of set.skipped) process.stderr.write(`skipped ${set.source} #${s.index}: ${s.reason}\n`);
  if (set.duplicates > 0) process.stderr.write(`skipped ${set.source}: ${set.duplicates} exact duplicate(s) of an earlier prompt\n`);
}

/** The Jinja text of --chat-template <file>. */
export function templateOption(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--chat-template: cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * The options several commands take, written once: a command's table is `{ ...flags(names), ...its own }`,
 * so a shared option has one spelling, one type and one default everywhere.
 */
export const COMMON_FLAGS = {
  model: { type: "string" },
  out: { type: "string" },
  gpu: { type: "string" },
  "gpu-layers": { type: "string" },
  threads: { type: "string" },
  "context-size": { type: "string" },
  "chat-template": { type: "string" },
  system: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  seed: { type: "string" },
  field: { type: "string" },
  limit: { type: "string" },
  placeholder: { type: "string" },
  "val-harmful": { type: "string" },
  "val-harmless": { type: "string" },
  "refusal-markers": { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

export function flags<K extends keyof typeof COMMON_FLAGS>(...names: K[]): Pick<typeof COMMON_FLAGS, K> {
  return Object.fromEntries(names.map((name) => [name, COMMON_FLAGS[name]])) as Pick<typeof COMMON_FLAGS, K>;
}

/** `--gpu auto|cuda|vulkan|metal|cpu` (`false` and `off` also mean the CPU); absent: INFERALIGNER_GPU, else auto. */
export function gpuOption(value: string | undefined): GpuChoice | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "cpu" || v === "false" || v === "off") return false;
  if (v === "auto" || v === "cuda" || v === "vulkan" || v === "metal") return v;
  throw new UsageError(`--gpu expects auto, cuda, vulkan, metal or cpu, got '${value}'`);
}

/** What `--threads`, `--context-size`, `--gpu` and `--gpu-layers` say, as model and context options. */
export function engineOptions(values: {
  threads?: string | undefined;
  "context-size"?: string | undefined;
  gpu?: string | undefined;
  "gpu-layers"?: string | undefined;
}) {
  return {
    model: { gpu: gpuOption(values.gpu), gpuLayers: intOption("--gpu-layers", values["gpu-layers"]) },
    context: { threads: positiveIntOption("--threads", values.threads), contextSize: positiveIntOption("--context-size", values["context-size"]) },
  };
}
