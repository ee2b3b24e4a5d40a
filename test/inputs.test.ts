// Loose inputs the API reference found (docs/api.md review): each refused with a clear error, or
// made harmless, instead of reaching native code or corrupting state.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ia, sharedModel, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const inputs = suite("inputs");
const path = tinyModelPath("tiny-chatml");

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

inputs.run();
