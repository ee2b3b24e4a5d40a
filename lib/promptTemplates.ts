// Prompt templates with a slot, such as GPTFuzz's jailbreak templates. The eval fills them with
// harmful questions (its jailbreak set); extraction can fill them with calibration prompts of both
// classes, so that the gate direction learns harmfulness inside a template and not the template
// itself (a jailbreak wraps a harmful request in hundreds of tokens of role-play, and a gate fitted on
// bare requests alone stays closed on it).
import { LlamaError } from "./errors.js";

export const TEMPLATE_SLOT = "[INSERT PROMPT HERE]";

/** Throws ERR_INVALID_ARGUMENT when the slot is empty or a template lacks it. */
export function checkTemplates(templates: readonly string[], slot: string, source: string): void {
  if (slot === "") throw new LlamaError("the template slot (placeholder) is empty", "ERR_INVALID_ARGUMENT");
  if (templates.length === 0) throw new LlamaError(`'${source}' has no templates`, "ERR_INVALID_ARGUMENT");
  const missing = templates.map((t, i) => (t.includes(slot) ? -1 : i)).filter((i) => i >= 0);
  if (missing.length > 0) throw new LlamaError(`template(s) ${missing.join(", ")} of '${source}' have no '${slot}' slot`, "ERR_INVALID_ARGUMENT");
}

/** The template with every occurrence of the slot replaced by the prompt. */
export function fillTemplate(template: string, prompt: string, slot: string = TEMPLATE_SLOT): string {
  return template.split(slot).join(prompt);
}

/**
 * One filled prompt per template: template t gets prompts[(offset + t) mod n], so each template is
 * used once and the prompts are taken in turn.
 */
export function fillEachTemplate(templates: readonly string[], prompts: readonly string[], slot: string = TEMPLATE_SLOT, offset = 0): string[] {
  if (prompts.length === 0) throw new LlamaError("no prompts to put into the templates", "ERR_INVALID_ARGUMENT");
  return templates.map((t, i) => fillTemplate(t, prompts[(offset + i) % prompts.length]!, slot));
}
