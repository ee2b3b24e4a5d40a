// Loose inputs the API reference found (docs/api.md review): each refused with a clear error, or
// made harmless, instead of reaching native code or corrupting state.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ia, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const inputs = suite("inputs");
const path = tinyModelPath("tiny-chatml");
const scratch = join(repoRoot, "test", ".cache", "inputs");
mkdirSync(scratch, { recursive: true });

inputs("setLogLevel refuses what is not a level from 0 to 4", () => {
  for (const bad of [5, -1, 1.5, Number.NaN, "2"]) {
    assert.throws(
      () => ia.setLogLevel(bad as unknown as 0),
      (e: Error) => e instanceof RangeError && /0 \(silent\) to 4/.test(e.message),
      String(bad),
    );
  }
  ia.setLogLevel(0); // the valid ones still work (0 is what the suites run with)
});

inputs("createContext refuses a flashAttention that is not auto, true or false", async () => {
  const model = await sharedModel(path);
  const error = await model.createContext({ flashAttention: "yes" as unknown as boolean, threads }).then(
    () => null,
    (e: Error) => e,
  );
  assert.instance(error, TypeError);
  assert.match(String(error), /flashAttention is "auto", true or false/);
});

inputs("session.messages is a copy: changing it leaves the conversation as it was", async () => {
  const model = await sharedModel(path);
  const context = await model.createContext({ contextSize: 256, threads });
  try {
    const session = new ia.ChatSession(context);
    await session.prompt("hello", { maxTokens: 2 });
    const seen = session.messages as ia.ChatMessage[];
    assert.is(seen.length, 2);
    seen.length = 0;
    (session.messages[0] as { content: string }).content = "changed";
    assert.is(session.messages.length, 2);
    assert.is(session.messages[0]!.content, "hello");
  } finally {
    await context.dispose();
  }
});

inputs("runCodeTask without python3 on PATH rejects with a coded error instead of failing every task", async () => {
  const task: ia.CodeTask = { id: "t/0", prompt: "def f():\n", test: "def check(c):\n    assert c() == 1\n", entryPoint: "f" };
  const saved = process.env.PATH;
  process.env.PATH = "/nonexistent-for-this-test";
  try {
    const error = await ia.runCodeTask(task, "def f():\n    return 1\n").then(
      () => null,
      (e: ia.LlamaError) => e,
    );
    assert.is(error?.code, "ERR_INVALID_ARGUMENT", String(error));
    assert.match(error!.message, /python3.*not found on PATH/);
  } finally {
    process.env.PATH = saved;
  }
  // With python3 the same task passes (the check above is about the interpreter, not the task).
  const passed = await ia.runCodeTask(task, "def f():\n    return 1\n");
  assert.ok(passed.passed, passed.detail);
});

inputs("runEval names a missing gate or steer file (ERR_VECTOR_FILE) before any work", async () => {
  const model = await sharedModel(path);
  const gate = join(scratch, "gate.gguf");
  ia.writeVectorFile(gate, await ia.extractSafetyVectors(model, { harmful: TOY_HARMFUL, harmless: TOY_HARMLESS, threads }));
  const context = await model.createContext({ contextSize: 256, threads });
  try {
    for (const guidance of [{ gate: "/nonexistent/gate.gguf" }, { gate, steer: "/nonexistent/steer.gguf" }]) {
      const error = await ia
        .runEval({ model, context, items: [], config: { guidance, modes: ["steer"], maxTokens: 2 }, outDir: join(scratch, "missing"), modelSha256: "x" })
        .then(
          () => null,
          (e: ia.LlamaError) => e,
        );
      assert.is(error?.code, "ERR_VECTOR_FILE", String(error));
      assert.match(error!.message, /nonexistent/);
    }
  } finally {
    await context.dispose();
  }
});

inputs.run();
