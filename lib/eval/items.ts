// The evaluation sets: harmful requests, jailbreaks (a template with a harmful question put in its
// slot), harmless requests and over-refusal probes (prompts that must be answered). Every item has a
// stable key derived from its set and text, which is what a resumed run matches on.
import { createHash } from "node:crypto";
import { LlamaError } from "../errors.js";
import { loadPromptSet, loadRows, type PromptFileOptions } from "../prompts.js";
import { checkTemplates, fillTemplate, TEMPLATE_SLOT } from "../promptTemplates.js";
import { codeTaskPrompt, readCodeTasks, type CodeTask } from "./utility.js";

export type EvalSetName = "harmful" | "jailbreak" | "harmless" | "overRefusal" | "utility";
export const EVAL_SETS: readonly EvalSetName[] = Object.freeze(["harmful", "jailbreak", "harmless", "overRefusal", "utility"]);

export interface EvalItem {
  /** `<set>:<sha256 of the prompt, 16 hex>`: stable across runs and file orderings. */
  key: string;
  set: EvalSetName;
  /** Position in its set. */
  index: number;
  /** What the model is sent (for a jailbreak: the filled template). */
  prompt: string;
  /** For a jailbreak: the harmful question inside it (what a judge asks about) and the template's index. */
  question?: string;
  template?: number;
  /** For a utility item: the code task whose tests judge the answer. */
  task?: CodeTask;
}

export const JAILBREAK_PLACEHOLDER = TEMPLATE_SLOT;

export interface EvalSetsOptions {
  harmful?: string;
  jailbreakTemplates?: string;
  jailbreakQuestions?: string;
  /** Questions used with every template. Defaults to `20`. */
  jailbreakQuestionLimit?: number;
  /** The slot in each template. Defaults to `[INSERT PROMPT HERE]`. */
  placeholder?: string;
  harmless?: string;
  /** Leave out the first n harmless prompts (e.g. the ones used for validation at extraction). Defaults to `0`. */
  harmlessSkip?: number;
  /** At most this many harmless items (overrides `limit` for that set). */
  harmlessLimit?: number;
  /** Prompts that must be answered; rows with a `label` field keep only `label = safe` (XSTest). */
  overRefusal?: string;
  /** Code tasks in HumanEval's format (JSON lines, gzip or plain): pass@1 per configuration. */
  utility?: string;
  /** Prompts found in these files are removed from the harmful and harmless sets (e.g. the calibration sets). */
  exclude?: readonly string[];
  /** At most this many items per set (after exclusion). */
  limit?: number;
  /** Text field of object rows (all files); found automatically when absent. */
  field?: string;
}

export function itemKey(set: EvalSetName, prompt: string): string {
  return `${set}:${createHash("sha256").update(prompt).digest("hex").slice(0, 16)}`;
}

const invalid = (message: string) => new LlamaError(message, "ERR_INVALID_ARGUMENT");

export function buildEvalItems(o: EvalSetsOptions): { items: EvalItem[]; excluded: Record<EvalSetName, number> } {
  if (o.limit !== undefined && (!Number.isInteger(o.limit) || o.limit < 1)) throw new RangeError(`limit must be a positive integer, got ${o.limit}`);
  if ((o.jailbreakTemplates === undefined) !== (o.jailbreakQuestions === undefined)) {
    throw invalid("jailbreaks need both a templates file and a questions file");
  }
  const fileOptions: PromptFileOptions = o.field !== undefined ? { field: o.field } : {};
  const excluded = new Set<string>();
  for (const path of o.exclude ?? []) for (const p of loadPromptSet(path, fileOptions).prompts) excluded.add(p.trim());
  const excludedCount: Record<EvalSetName, number> = { harmful: 0, jailbreak: 0, harmless: 0, overRefusal: 0, utility: 0 };
  const items: EvalItem[] = [];
  if (o.harmlessLimit !== undefined && (!Number.isInteger(o.harmlessLimit) || o.harmlessLimit < 1)) throw new RangeError(`harmlessLimit must be a positive integer, got ${o.harmlessLimit}`);
  // `extra(j)` gets the prompt's position in `prompts` (duplicates skipped do not shift it).
  const push = (set: EvalSetName, prompts: string[], extra?: (j: number) => Partial<EvalItem>) => {
    const seen = new Set<string>();
    const limit = set === "harmless" && o.harmlessLimit !== undefined ? o.harmlessLimit : o.limit;
    prompts.forEach((prompt, j) => {
      if (limit !== undefined && seen.size >= limit) return;
      const key = itemKey(set, prompt);
      if (seen.has(key)) return;
      seen.add(key);
      items.push({ key, set, index: seen.size - 1, prompt, ...(extra ? extra(j) : {}) });
    });
  };
  const withoutExcluded = (set: EvalSetName, prompts: string[]) =>
    prompts.filter((p) => {
      const drop = excluded.has(p.trim());
      if (drop) excludedCount[set]++;
      return !drop;
    });

  if (o.harmful !== undefined) push("harmful", withoutExcluded("harmful", loadPromptSet(o.harmful, fileOptions).prompts));

  if (o.jailbreakTemplates !== undefined && o.jailbreakQuestions !== undefined) {
    const placeholder = o.placeholder ?? JAILBREAK_PLACEHOLDER;
    const questionLimit = o.jailbreakQuestionLimit ?? 20;
    if (!Number.isInteger(questionLimit) || questionLimit < 1) throw new RangeError(`jailbreakQuestionLimit must be a positive integer, got ${questionLimit}`);
    const templates = loadPromptSet(o.jailbreakTemplates, fileOptions).prompts;
    checkTemplates(templates, placeholder, o.jailbreakTemplates);
    const questions = loadPromptSet(o.jailbreakQuestions, { ...fileOptions, limit: questionLimit }).prompts;
    const filled: string[] = [];
    const meta: Array<{ question: string; template: number }> = [];
    // Question by question, every template each time: a limited run (--limit) still sees every
    // template, not the first few.
    for (const q of questions) {
      templates.forEach((t, ti) => {
        filled.push(fillTemplate(t, q, placeholder));
        meta.push({ question: q, template: ti });
      });
    }
    push("jailbreak", filled, (i) => meta[i]!);
  }

  if (o.harmless !== undefined) {
    const skip = o.harmlessSkip ?? 0;
    if (!Number.isInteger(skip) || skip < 0) throw new RangeError(`harmlessSkip must be a non-negative integer, got ${skip}`);
    const prompts = loadPromptSet(o.harmless, fileOptions).prompts.slice(skip);
    if (prompts.length === 0) throw invalid(`'${o.harmless}' has no prompts left after skipping ${skip}`);
    push("harmless", withoutExcluded("harmless", prompts));
  }

  if (o.overRefusal !== undefined) {
    const rows = loadRows(o.overRefusal);
    const labelled = rows.some((r) => typeof r !== "string" && "label" in r);
    const set = loadPromptSet(o.overRefusal, { ...fileOptions, ...(labelled ? { filter: (r) => typeof r !== "string" && r.label === "safe" } : {}) });
    push("overRefusal", set.prompts);
  }

  if (o.utility !== undefined) {
    const tasks = readCodeTasks(o.utility);
    push("utility", tasks.map(codeTaskPrompt), (i) => ({ task: tasks[i]! }));
  }
  if (items.length === 0) throw invalid("nothing to evaluate: give at least one of the harmful, jailbreak, harmless, over-refusal or utility sets");
  return { items, excluded: excludedCount };
}
