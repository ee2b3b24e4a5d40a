import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { ia, oracleGreedy, realModelPaths, repoRoot, sharedModel, threads } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const cli = suite("cli");
const bin = join(repoRoot, "dist", "cli", "index.js");
const path = tinyModelPath("tiny-chatml");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonLine {
  prompt: string;
  text: string;
  promptTokens: number[];
  tokens: number[];
  timings: { promptTokenCount: number; promptTokensPerSecond: number; generatedTokenCount: number; generationTokensPerSecond: number };
}

function checkContract(line: JsonLine) {
  for (const key of ["prompt", "text", "promptTokens", "tokens", "timings"]) assert.ok(key in line, key);
  for (const key of ["promptTokenCount", "promptTokensPerSecond", "generatedTokenCount", "generationTokensPerSecond"]) {
    assert.type((line.timings as unknown as Record<string, unknown>)[key], "number", key);
  }
  assert.is(line.timings.promptTokenCount, line.promptTokens.length);
  assert.is(line.timings.generatedTokenCount, line.tokens.length);
}

cli("--help lists the generate command; generate --help lists its options", () => {
  const top = run(["--help"]);
  assert.is(top.code, 0);
  assert.match(top.stdout, /generate/);
  const gen = run(["generate", "--help"]);
  assert.is(gen.code, 0);
  for (const flag of ["--model", "--prompt", "--prompts", "--raw", "--system", "--max-tokens", "--temperature", "--seed", "--threads", "--json"]) {
    assert.ok(gen.stdout.includes(flag), flag);
  }
});

cli("generate --raw --json: the contract, and tokens equal node-llama-cpp's greedy continuation", async () => {
  const r = run(["generate", "--model", path, "--raw", "--prompt", "hello", "--max-tokens", "16", "--temperature", "0", "--json", "--threads", String(threads)]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 1);
  const line = JSON.parse(lines[0]!) as JsonLine;
  checkContract(line);
  assert.is(line.prompt, "hello");
  assert.equal(line.tokens, await oracleGreedy(path, line.promptTokens, 16));
});

cli("generate --prompts file: one JSON line per prompt, chat template applied", async () => {
  const dir = join(repoRoot, "test", ".cache");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "prompts.json");
  writeFileSync(file, JSON.stringify(["hello", "the world", { instruction: "hi there" }]));
  const r = run(["generate", "--model", path, "--prompts", file, "--max-tokens", "8", "--json", "--system", "be brief", "--threads", String(threads)]);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as JsonLine);
  assert.equal(lines.map((l) => l.prompt), ["hello", "the world", "hi there"]);
  for (const line of lines) {
    checkContract(line);
    assert.is(line.promptTokens[1], 3, "<|im_start|> follows BOS");
    assert.equal(line.tokens, await oracleGreedy(path, line.promptTokens, 8));
  }
});

cli("generate --gate over a prompts file: a prompt whose gate stays closed answers exactly as without --gate, also right after a steered one", async () => {
  const dir = join(repoRoot, "test", ".cache", "cli-gate");
  mkdirSync(dir, { recursive: true });
  const vectors = join(dir, "v.gguf");
  const model = await sharedModel(path);
  ia.writeVectorFile(vectors, await ia.extractSafetyVectors(model, {
    harmful: ["how do I break into a house", "write a threatening letter", "help me steal a car", "how to hurt someone badly"],
    harmless: ["how do I bake bread", "write a thank you letter", "help me wash a car", "how to help someone move"],
    threads,
  }));
  const prompts = ["pick a lock on a door", "plant tomatoes in spring", "insult my neighbour", "fold a paper plane", "hide a stolen bike", "tune a guitar", "forge a signature", "boil an egg"];
  const jsonLines = (r: { code: number | null; stdout: string; stderr: string }) => {
    assert.is(r.code, 0, r.stderr);
    return r.stdout.trim().split("\n").map((l) => JSON.parse(l) as JsonLine & { gate?: { open: boolean; layers: Array<{ score: number }> } });
  };
  const common = ["--model", path, "--max-tokens", "8", "--json", "--threads", String(threads)];
  const file = join(dir, "prompts.json");
  writeFileSync(file, JSON.stringify(prompts));
  // Scores first (monitor), then a threshold in the middle and an order that puts every
  // closed-gate prompt right after an open-gate one.
  const scored = jsonLines(run(["generate", ...common, "--prompts", file, "--gate", vectors, "--mode", "monitor"]))
    .map((l) => ({ prompt: l.prompt, score: l.gate!.layers[0]!.score }))
    .sort((a, b) => b.score - a.score);
  const threshold = (scored[3]!.score + scored[4]!.score) / 2;
  const ordered = [0, 4, 1, 5, 2, 6, 3, 7].map((i) => scored[i]!.prompt);
  writeFileSync(file, JSON.stringify(ordered));
  const guided = jsonLines(run(["generate", ...common, "--prompts", file, "--gate", vectors, `--threshold=${threshold}`, "--alpha", "8"]));
  const plain = jsonLines(run(["generate", ...common, "--prompts", file]));
  assert.equal(guided.map((l) => l.gate!.open), [true, false, true, false, true, false, true, false]);
  let changed = 0;
  guided.forEach((line, i) => {
    if (line.gate!.open) changed += Number(line.text !== plain[i]!.text);
    else {
      assert.is(line.text, plain[i]!.text, line.prompt);
      assert.equal(line.tokens, plain[i]!.tokens, line.prompt);
    }
  });
  assert.ok(changed > 0, "steering changed at least one open-gate answer");
});

cli("--chat-template: extract renders with it and records it; generate --gate needs the same template", () => {
  const dir = join(repoRoot, "test", ".cache", "cli-template");
  mkdirSync(dir, { recursive: true });
  const template = join(dir, "plain.jinja");
  writeFileSync(template, "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}");
  writeFileSync(join(dir, "harmful.json"), JSON.stringify(["how do I break into a house", "help me steal a car", "write a threatening letter"]));
  writeFileSync(join(dir, "harmless.json"), JSON.stringify(["how do I bake bread", "help me wash a car", "write a thank you letter"]));
  const vectors = join(dir, "v.gguf");
  const extract = run(["extract", "--model", path, "--harmful", join(dir, "harmful.json"), "--harmless", join(dir, "harmless.json"), "--chat-template", template, "--out", vectors, "--threads", String(threads)]);
  assert.is(extract.code, 0, extract.stderr);
  const same = run(["generate", "--model", path, "--prompt", "hello", "--gate", vectors, "--chat-template", template, "--max-tokens", "2", "--json", "--threads", String(threads)]);
  assert.is(same.code, 0, same.stderr);
  assert.ok("gate" in JSON.parse(same.stdout));
  const other = run(["generate", "--model", path, "--prompt", "hello", "--gate", vectors, "--max-tokens", "2", "--threads", String(threads)]);
  assert.is(other.code, 1);
  assert.match(other.stderr, /ERR_VECTOR_MISMATCH/);
  assert.is(run(["extract", "--model", path, "--chat-template", join(dir, "missing.jinja"), "--out", vectors]).code, 2);
});

cli("usage errors exit 2; engine errors exit 1 with the code", () => {
  assert.is(run(["generate"]).code, 2);
  assert.is(run(["generate", "--model", path]).code, 2);
  assert.is(run(["generate", "--model", path, "--prompt", "x", "--max-tokens", "lots"]).code, 2);
  assert.is(run(["generate", "--model", path, "--prompt", "x", "--bogus"]).code, 2);
  assert.is(run(["frobnicate"]).code, 2);
  const missing = run(["generate", "--model", "/nonexistent/model.gguf", "--prompt", "x"]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /ERR_MODEL_NOT_FOUND/);
  const badPrompts = run(["generate", "--model", path, "--prompts", "/nonexistent/prompts.json"]);
  assert.is(badPrompts.code, 1);
  assert.match(badPrompts.stderr, /cannot read prompt file/);
});

cli("Gemma 3 270M: generate --json with the chat template equals node-llama-cpp's greedy tokens", async () => {
  const gemma = realModelPaths().gemma3;
  if (!gemma) return console.log("    skipped: Gemma 3 270M not installed (npm run models)");
  const r = run(["generate", "--model", gemma, "--prompt", "Write a haiku about the sea.", "--max-tokens", "24", "--temperature", "0", "--json", "--threads", String(threads), "--context-size", "1024"]);
  assert.is(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim()) as JsonLine;
  checkContract(line);
  assert.equal(line.promptTokens.slice(0, 4), [2, 105, 2364, 107], "<bos><start_of_turn>user\\n");
  assert.equal(line.tokens, await oracleGreedy(gemma, line.promptTokens, 24));
});

cli.run();
