import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { ia, ifInstalled, realModelPaths, repoRoot, sharedModel } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";
import { modelInternals } from "./helpers/internals.js";

const templates = suite("chatTemplate");

type Msg = ia.ChatMessage;
const conversations: Msg[][] = [
  [{ role: "user", content: "Hello!" }],
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "  What is 2+2?\n" },
  ],
  [
    { role: "system", content: "Answer in French." },
    { role: "user", content: "Name a colour." },
    { role: "assistant", content: "Bleu." },
    { role: "user", content: 'Another one, with "quotes" and {braces}.' },
  ],
  [
    { role: "user", content: "Multi\nline\n\ncontent" },
    { role: "assistant", content: " spaced " },
    { role: "user", content: "ok" },
  ],
];

function pythonJinja(template: string, messages: Msg[], addGenerationPrompt: boolean, bos: string, eos: string): string {
  return execFileSync("python3", [`${repoRoot}test/helpers/render_jinja.py`], {
    input: JSON.stringify({ template, messages, add_generation_prompt: addGenerationPrompt, bos_token: bos, eos_token: eos }),
    encoding: "utf8",
  });
}

function tokenText(model: ia.LlamaModel, token: number | null): string {
  return token === null ? "" : model.tokenText(token);
}

templates("our Gemma template renders exactly as Python's Jinja2 and as llama.cpp's built-in gemma format", async () => {
  // Any model works for rendering; the tiny one has no Gemma tokens, so give the template Gemma's BOS text.
  const model = await sharedModel(tinyModelPath("tiny-chatml"));
  const gemma = ia.customChatTemplate(model, ia.GEMMA_TEMPLATE);
  for (const messages of conversations) {
    for (const add of [true, false]) {
      const ours = gemma.render(messages, { addGenerationPrompt: add });
      const bos = tokenText(model, model.info.specialTokens.bos);
      assert.is(ours, pythonJinja(ia.GEMMA_TEMPLATE, messages, add, bos, ""), JSON.stringify(messages));
      // llama.cpp's built-in renderer writes no BOS (its tokenizer adds it)
      const builtin = modelInternals(model)._native.applyBuiltinTemplate("gemma", messages, add);
      assert.is(ours, bos + builtin, JSON.stringify(messages));
    }
  }
});

templates("the tiny model's GGUF ChatML template renders as Python's Jinja2", async () => {
  const model = await sharedModel(tinyModelPath("tiny-chatml"));
  const t = model.chatTemplate;
  assert.is(t.source, "gguf");
  for (const messages of conversations) {
    assert.is(t.render(messages), pythonJinja(t.jinja, messages, true, "<s>", "</s>"));
  }
});

ifInstalled(templates, realModelPaths().gemma3)("Gemma 3 (GGUF without a template) gets the built-in Gemma template; tokens have one BOS", async () => {
  const gemmaPath = realModelPaths().gemma3!;
  const model = await sharedModel(gemmaPath);
  assert.is(model.info.chatTemplate, null);
  const t = model.chatTemplate;
  assert.is(t.source, "builtin");
  assert.is(t.name, "gemma");
  const text = t.render([{ role: "user", content: "Hi" }]);
  assert.is(text, "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  const tokens = ia.tokenizeRendered(model, text);
  assert.is(tokens.filter((x) => x === model.info.specialTokens.bos).length, 1);
  assert.is(tokens[0], model.info.specialTokens.bos);
  assert.is(model.tokenText(tokens[1]!), "<start_of_turn>");
});

ifInstalled(templates, realModelPaths().smollm2)("SmolLM2's GGUF template renders as Python's Jinja2", async () => {
  const smolPath = realModelPaths().smollm2!;
  const model = await sharedModel(smolPath);
  const t = model.chatTemplate;
  assert.is(t.source, "gguf");
  const bos = tokenText(model, model.info.specialTokens.bos);
  const eos = tokenText(model, model.info.specialTokens.eos);
  for (const messages of conversations) {
    for (const add of [true, false]) {
      assert.is(t.render(messages, { addGenerationPrompt: add }), pythonJinja(t.jinja, messages, add, bos, eos));
    }
  }
});

templates("bad messages are a TypeError; a Gemma system message after the first is a template error", async () => {
  const model = await sharedModel(tinyModelPath("tiny-chatml"));
  const gemma = ia.customChatTemplate(model, ia.GEMMA_TEMPLATE);
  assert.throws(() => gemma.render([{ role: "robot", content: "x" } as unknown as Msg]), TypeError);
  assert.throws(
    () =>
      gemma.render([
        { role: "user", content: "a" },
        { role: "system", content: "b" },
      ]),
    (e: ia.LlamaError) => e.code === "ERR_TEMPLATE",
  );
});

templates("a template that drops the user's message (never reads messages, or empty) is a template error, not a silent empty request", async () => {
  const model = await sharedModel(tinyModelPath("tiny-chatml"));
  for (const jinja of ["", "{{ bos_token }}assistant:", "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}{% endif %}{% endfor %}"]) {
    const t = ia.customChatTemplate(model, jinja);
    assert.throws(
      () => t.render([{ role: "user", content: "tell me a joke" }]),
      (e: ia.LlamaError) => e.code === "ERR_TEMPLATE" && /drops the request/.test(e.message),
      JSON.stringify(jinja),
    );
  }
  const ok = ia.customChatTemplate(model, "{% for m in messages %}{{ m.role }}: {{ m.content | trim }}\n{% endfor %}");
  assert.is(ok.render([{ role: "user", content: "  padded  " }], { addGenerationPrompt: false }), "user: padded\n");
  assert.is(ok.render([{ role: "user", content: "" }], { addGenerationPrompt: false }), "user: \n", "an empty message has nothing to drop");
});

templates("a template that loops without end is a template error, not a frozen or killed process", async () => {
  const model = await sharedModel(tinyModelPath("tiny-chatml"));
  const loops = [
    "{% for i in range(300000000) %}{% endfor %}{{ messages[0].content }}",
    "{% for i in range(2000) %}{% for j in range(2000) %}{% endfor %}{% endfor %}{{ messages[0].content }}",
  ];
  for (const jinja of loops) {
    const t = ia.customChatTemplate(model, jinja);
    const started = Date.now();
    assert.throws(
      () => t.render([{ role: "user", content: "hi" }]),
      (e: ia.LlamaError) => e.code === "ERR_TEMPLATE" && /range\(\) asked for more/.test(e.message),
    );
    assert.ok(Date.now() - started < 30_000, `${jinja}: ${Date.now() - started} ms (a hang, not a speed check)`);
  }
  // Ordinary ranges still work, with the library's semantics (start, stop, step).
  const ok = ia.customChatTemplate(
    model,
    "{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(5, 1, -2) %}{{ i }}{% endfor %}|{{ messages[0].content }}",
  );
  assert.is(ok.render([{ role: "user", content: "hi" }]), "012|53|hi");
});

templates.run();
