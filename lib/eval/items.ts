// The evaluation sets: harmful requests, jailbreaks (a template with a harmful question put in its
// slot), harmless requests and over-refusal probes (prompts that must be answered). Every item has a
// stable key derived from its set and text, which is what a resumed run matches on.
import { createHash } from "node:crypto";
import { LlamaError } from "../errors.js";
import { loadPromptSet, loadRows, type PromptFileOptions, type PromptRow } from "../prompts.js";
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
  const exclusion = new Exclusion(o.exclude ?? [], fileOptions);
  if (o.harmlessLimit !== undefined && (!Number.isInteger(o.harmlessLimit) || o.harmlessLimit < 1))
    throw new RangeError(`harmlessLimit must be a positive integer, got ${o.harmlessLimit}`);
  const items: EvalItem[] = [];
  const add = (set: EvalSetName, prompts: readonly string[], extra?: (j: number) => Partial<EvalItem>) => {
    const limit = set === "harmless" && o.harmlessLimit !== undefined ? o.harmlessLimit : o.limit;
    items.push(...setItems(set, prompts, limit, extra));
  };
  if (o.harmful !== undefined) add("harmful", exclusion.apply("harmful", loadPromptSet(o.harmful, fileOptions).prompts));
  if (o.jailbreakTemplates !== undefined && o.jailbreakQuestions !== undefined) {
    const { prompts, meta } = loadJailbreaks(o.jailbreakTemplates, o.jailbreakQuestions, o, fileOptions);
    add("jailbreak", prompts, (i) => meta[i]!);
  }
  if (o.harmless !== undefined) add("harmless", exclusion.apply("harmless", loadHarmless(o.harmless, o.harmlessSkip ?? 0, fileOptions)));
  if (o.overRefusal !== undefined) add("overRefusal", loadOverRefusal(o.overRefusal, fileOptions));
  if (o.utility !== undefined) {
    const tasks = readCodeTasks(o.utility);
    add("utility", tasks.map(codeTaskPrompt), (i) => ({ task: tasks[i]! }));
  }
  if (items.length === 0) throw invalid("nothing to evaluate: give at least one of the harmful, jailbreak, harmless, over-refusal or utility sets");
  return { items, excluded: exclusion.counts };
}

/**
 * One set's items: prompts in order, repeats dropped, at most `limit`. `extra(j)` gets the
 * prompt's position in `prompts` (duplicates skipped do not shift it); `index` counts kept items.
 */
export function setItems(set: EvalSetName, prompts: readonly string[], limit: number | undefined, extra?: (j: number) => Partial<EvalItem>): EvalItem[] {
  const items: EvalItem[] = [];
  const seen = new Set<string>();
  prompts.forEach((prompt, j) => {
    if (limit !== undefined && seen.size >= limit) return;
    const key = itemKey(set, prompt);
    if (seen.has(key)) return;
    seen.add(key);
    items.push({ key, set, index: seen.size - 1, prompt, ...(extra ? extra(j) : {}) });
  });
  return items;
}

/** Prompts to leave out of the harmful and harmless sets (compared trimmed), and how many each set lost. */
class Exclusion {
  private readonly prompts = new Set<string>();
  readonly counts: Record<EvalSetName, number> = { harmful: 0, jailbreak: 0, harmless: 0, overRefusal: 0, utility: 0 };

  constructor(paths: readonly string[], fileOptions: PromptFileOptions) {
    for (const path of paths) for (const p of loadPromptSet(path, fileOptions).prompts) this.prompts.add(p.trim());
  }

  apply(set: EvalSetName, prompts: readonly string[]): string[] {
    return prompts.filter((p) => {
      const drop = this.prompts.has(p.trim());
      if (drop) this.counts[set]++;
      return !drop;
    });
  }
}

/**
 * Every template filled with each question: question by question, every template each time, so
 * that a limited run (--limit) still sees every template, not the first few.
 */
export function jailbreakPrompts(
  templates: readonly string[],
  questions: readonly string[],
  placeholder: string,
): { prompts: string[]; meta: Array<{ question: string; template: number }> } {
  const prompts: string[] = [];
  const meta: Array<{ question: string; template: number }> = [];
  for (const q of questions) {
    templates.forEach((t, ti) => {
      prompts.push(fillTemplate(t, q, placeholder));
      meta.push({ question: q, template: ti });
    });
  }
  return { prompts, meta };
}

function loadJailbreaks(templatesPath: string, questionsPath: string, o: EvalSetsOptions, fileOptions: PromptFileOptions) {
  const placeholder = o.placeholder ?? JAILBREAK_PLACEHOLDER;
  const questionLimit = o.jailbreakQuestionLimit ?? 20;
  if (!Number.isInteger(questionLimit) || questionLimit < 1) throw new RangeError(`jailbreakQuestionLimit must be a positive integer, got ${questionLimit}`);
  const templates = loadPromptSet(templatesPath, fileOptions).prompts;
  checkTemplates(templates, placeholder, templatesPath);
  const questions = loadPromptSet(questionsPath, { ...fileOptions, limit: questionLimit }).prompts;
  return jailbreakPrompts(templates, questions, placeholder);
}

/** The harmless prompts after the first `skip` (e.g. the ones used for validation at extraction). */
function loadHarmless(path: string, skip: number, fileOptions: PromptFileOptions): string[] {
  if (!Number.isInteger(skip) || skip < 0) throw new RangeError(`harmlessSkip must be a non-negative integer, got ${skip}`);
  const prompts = loadPromptSet(path, fileOptions).prompts.slice(skip);
  if (prompts.length === 0) throw invalid(`'${path}' has no prompts left after skipping ${skip}`);
  return prompts;
}

/** Prompts that must be answered; when rows carry a `label` (XSTest), only those labelled safe. */
function loadOverRefusal(path: string, fileOptions: PromptFileOptions): string[] {
  const labelled = loadRows(path).some((r) => typeof r !== "string" && "label" in r);
  const filter = (r: PromptRow) => typeof r !== "string" && r.label === "safe";
  return loadPromptSet(path, { ...fileOptions, ...(labelled ? { filter } : {}) }).prompts;
}
