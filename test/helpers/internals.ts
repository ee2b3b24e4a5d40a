// White-box access for tests: the published types strip the `@internal` members (stripInternal), so
// tests that reach them view the built objects through the source types, which keep them.
import type { LlamaContext as ContextWithInternals } from "../../lib/Context.js";
import type { LlamaModel as ModelWithInternals } from "../../lib/Model.js";

export function contextInternals(context: object): ContextWithInternals {
  return context as ContextWithInternals;
}

export function modelInternals(model: object): ModelWithInternals {
  return model as ModelWithInternals;
}
