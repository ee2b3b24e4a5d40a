// ChatSession: a conversation on one context. Each turn renders the whole conversation with the
// model's chat template; the context reuses the KV cache of everything up to the new user turn.
import { customChatTemplate, tokenizeRendered, tokenizeRenderedAsync, type ChatMessage, type ChatTemplate } from "./chatTemplate.js";
import { checkGateTemplate, resolveGuidance } from "./guidance.js";
import type { LlamaContext } from "./Context.js";
import type { GenerateOptions, GenerationChunk, GenerationResult } from "./generation.js";

export interface ChatSessionOptions {
  /** System prompt: the conversation's first message. Defaults to none. */
  systemPrompt?: string;
  /** Jinja source to use instead of the model's template. Defaults to the model's. */
  template?: string;
}

export class ChatSession {
  readonly context: LlamaContext;
  readonly template: ChatTemplate;
  readonly #messages: ChatMessage[] = [];

  constructor(context: LlamaContext, options: ChatSessionOptions = {}) {
    this.context = context;
    this.template = options.template !== undefined ? customChatTemplate(context.model, options.template) : context.model.chatTemplate;
    if (options.systemPrompt !== undefined) {
      if (typeof options.systemPrompt !== "string") throw new TypeError("Expected a string for systemPrompt");
      this.#messages.push({ role: "system", content: options.systemPrompt });
    }
  }

  /** The conversation so far (system, user and assistant messages). */
  /** The conversation so far, as a copy: changing it cannot corrupt the session. */
  get messages(): readonly ChatMessage[] {
    return this.#messages.map((m) => ({ ...m }));
  }

  /** The prompt tokens the next user message would produce (rendered with the generation prompt). */
  promptTokens(userMessage: string): number[] {
    return tokenizeRendered(this.context.model, this.template.render([...this.#messages, { role: "user", content: userMessage }]));
  }

  /**
   * Sends a user message and generates the assistant's answer. The turn is recorded only when it
   * completes (an aborted or failed turn leaves the conversation as it was).
   */
  async prompt(userMessage: string, options: GenerateOptions = {}): Promise<GenerationResult> {
    if (typeof userMessage !== "string") throw new TypeError("Expected a string user message");
    const rendered = this.template.render([...this.#messages, { role: "user", content: userMessage }]);
    if (options.guidance) {
      const guidance = resolveGuidance(this.context.model, options.guidance);
      checkGateTemplate(guidance, this.template.jinja);
      options = { ...options, guidance };
    }
    const result = await this.context._exclusive(async (generate) => {
      const tokens = await tokenizeRenderedAsync(this.context.model, rendered, { limit: this.context.info.contextSize, signal: options.signal });
      return generate(tokens, { ...options, turnStart: this.#turnStart(tokens) }); // the session knows where the turn starts
    });
    this.#messages.push({ role: "user", content: userMessage }, { role: "assistant", content: result.text });
    return result;
  }

  /** Like prompt(), as an async iterator of chunks; `result` settles with the whole turn. */
  stream(userMessage: string, options: Omit<GenerateOptions, "onToken"> = {}): AsyncIterable<GenerationChunk> & { result: Promise<GenerationResult> } {
    return streamOf((onToken) => this.prompt(userMessage, { ...options, onToken }));
  }

  // Tokens of the new prompt that render the conversation so far (earlier turns); the rest is the
  // new turn, which guidance steers as a whole when its gate opens.
  #turnStart(tokens: readonly number[]): number {
    const earlier = this.#messages.filter((m) => m.role !== "system");
    if (earlier.length === 0) return 0;
    const before = tokenizeRendered(this.context.model, this.template.render(this.#messages, { addGenerationPrompt: false }));
    let n = 0;
    while (n < before.length && n < tokens.length && before[n] === tokens[n]) n++;
    return n;
  }

  /** Forgets the conversation (the system prompt stays). */
  reset(): void {
    this.#messages.splice(this.#messages[0]?.role === "system" ? 1 : 0);
  }
}

/** Adapts a callback-streaming call into an async iterator that ends when the call settles. */
export function streamOf(
  start: (onToken: (chunk: GenerationChunk) => void) => Promise<GenerationResult>,
): AsyncIterable<GenerationChunk> & { result: Promise<GenerationResult> } {
  const queue: GenerationChunk[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const result = start((chunk) => {
    queue.push(chunk);
    wake?.();
  });
  const settled = result.then(
    () => {
      done = true;
      wake?.();
    },
    () => {
      done = true;
      wake?.();
    },
  );
  void settled;
  return {
    result,
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length > 0) yield queue.shift()!;
        if (done) break;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
      await result; // rethrows the generation's error to the iterating code
    },
  };
}
