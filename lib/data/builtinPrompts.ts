// Built-in prompt sets for extracting the safety related vector with no data files: requests that
// an aligned assistant should refuse (harmful) and everyday requests it should answer (harmless).
// Written for this project (not taken from any public data set; the evaluation sets in
// ../shared/data are kept apart on purpose). The harmful prompts are requests only: they name a
// harmful goal and hold no operational detail. The harmless set includes requests that sound
// alarming but are benign ("lookalike"), so that the difference of means follows intent rather than
// keywords. Both classes also mix styles: chatty first-person questions and terse, impersonal task
// instructions ("Write a guide on ...", "Summarise the following ...", "Explain how to ..."). Every
// harmful category and every topical harmless category ends with five task-style prompts, and the
// harmless set adds task-only categories (text_tasks, general_knowledge, data_formatting; some with
// a short inline input after a colon), so that the difference of means follows intent, not style.
//
// The split is fixed here: within each category, every fifth prompt (positions 4, 9, 14, ...) is a
// validation prompt, the rest train. Categories hold multiples of five prompts, so the split is
// 80/20 per category and per class. Changing any prompt or the split means bumping
// BUILTIN_PROMPTS_VERSION, which `inferaligner extract` names in the sources it reports.
//
// The prompts themselves live one class or group a file: builtinHarmful.ts, builtinHarmlessTopics.ts,
// builtinHarmlessLookalike.ts and builtinHarmlessTasks.ts. This module splits and serves them.
import { HARMFUL_PROMPTS } from "./builtinHarmful.js";
import { HARMLESS_LOOKALIKE_PROMPTS } from "./builtinHarmlessLookalike.js";
import { HARMLESS_LONG_STUB_PROMPTS } from "./builtinHarmlessLongStubs.js";
import { HARMLESS_MATERIAL_PROMPTS } from "./builtinHarmlessMaterial.js";
import { HARMLESS_PROSE_STUB_PROMPTS } from "./builtinHarmlessProseStubs.js";
import { HARMLESS_TASK_PROMPTS } from "./builtinHarmlessTasks.js";
import { HARMLESS_TOPIC_PROMPTS } from "./builtinHarmlessTopics.js";

export const BUILTIN_PROMPTS_VERSION = 2;

/**
 * The wrapped-material set (builtinHarmlessMaterial.ts: code stubs to complete, passages to
 * translate, data to convert; builtinHarmlessLongStubs.ts and builtinHarmlessProseStubs.ts: long stubs, since v2) is harmless too, kept apart from the harmless set and versioned on
 * its own: it is the harmless side of the attack gate (extract --template-gate attack), not of the
 * main gate, whose vectors stay as BUILTIN_PROMPTS_VERSION made them.
 */
export const BUILTIN_MATERIAL_VERSION = 2;

export type BuiltinPromptKind = "harmful" | "harmless" | "material";
export type BuiltinPromptSplit = "train" | "validation";

export interface BuiltinPrompt {
  readonly text: string;
  readonly category: string;
}
// The order of the categories is part of the sets (it orders the prompts): topics, lookalikes, tasks.
const HARMLESS: Readonly<Record<string, readonly string[]>> = { ...HARMLESS_TOPIC_PROMPTS, ...HARMLESS_LOOKALIKE_PROMPTS, ...HARMLESS_TASK_PROMPTS };

function splitByCategory(sets: Readonly<Record<string, readonly string[]>>): { train: readonly BuiltinPrompt[]; validation: readonly BuiltinPrompt[] } {
  const train: BuiltinPrompt[] = [];
  const validation: BuiltinPrompt[] = [];
  for (const [category, texts] of Object.entries(sets)) {
    texts.forEach((text, i) => (i % 5 === 4 ? validation : train).push(Object.freeze({ text, category })));
  }
  return Object.freeze({ train: Object.freeze(train), validation: Object.freeze(validation) });
}

/** The built-in prompts by class and split (80% train, 20% validation, stratified by category). */
export const BUILTIN_PROMPTS: {
  readonly harmful: { readonly train: readonly BuiltinPrompt[]; readonly validation: readonly BuiltinPrompt[] };
  readonly harmless: { readonly train: readonly BuiltinPrompt[]; readonly validation: readonly BuiltinPrompt[] };
} = Object.freeze({ harmful: splitByCategory(HARMFUL_PROMPTS), harmless: splitByCategory(HARMLESS) });

/** The wrapped-material prompts by split (80% train, 20% validation, stratified by category). */
export const BUILTIN_MATERIAL_PROMPTS: { readonly train: readonly BuiltinPrompt[]; readonly validation: readonly BuiltinPrompt[] } = splitByCategory({
  ...HARMLESS_MATERIAL_PROMPTS,
  ...HARMLESS_LONG_STUB_PROMPTS,
  ...HARMLESS_PROSE_STUB_PROMPTS,
});

/** The categories of each class, in file order. */
export const BUILTIN_PROMPT_CATEGORIES: { readonly harmful: readonly string[]; readonly harmless: readonly string[] } = Object.freeze({
  harmful: Object.freeze(Object.keys(HARMFUL_PROMPTS)),
  harmless: Object.freeze(Object.keys(HARMLESS)),
});

/** The texts of one built-in set, as a fresh array. */
export function builtinPromptSet(kind: BuiltinPromptKind, split: BuiltinPromptSplit): string[] {
  const byKind = kind === "material" ? BUILTIN_MATERIAL_PROMPTS : kind === "harmful" || kind === "harmless" ? BUILTIN_PROMPTS[kind] : undefined;
  if (byKind === undefined) throw new TypeError(`kind must be 'harmful', 'harmless' or 'material' (got ${String(kind)})`);
  const set = split === "train" ? byKind.train : split === "validation" ? byKind.validation : undefined;
  if (set === undefined) throw new TypeError(`split must be 'train' or 'validation' (got ${String(split)})`);
  return set.map((p) => p.text);
}

/** The built-in sets as extraction takes them: train for calibration, validation for validation. */
export function builtinExtractionSets(): { harmful: string[]; harmless: string[]; valHarmful: string[]; valHarmless: string[] } {
  return {
    harmful: builtinPromptSet("harmful", "train"),
    harmless: builtinPromptSet("harmless", "train"),
    valHarmful: builtinPromptSet("harmful", "validation"),
    valHarmless: builtinPromptSet("harmless", "validation"),
  };
}
