// The GPU chosen at run time (lib/gpu.ts). Each test runs in a child process: GPU backends load
// into a process-wide registry, and the suites in this process stay on the CPU.
//
// A real GPU is not on the development machines, but a Vulkan one can be: Mesa's llvmpipe
// (lavapipe) is a Vulkan driver that runs on the CPU. ggml hides CPU-type Vulkan devices unless
// GGML_VK_VISIBLE_DEVICES names them, so with that variable the whole run-time path is exercised:
// the Vulkan backend library of the installed @node-llama-cpp package, loaded by path at run time,
// the model's layers offloaded to it, and the gate read from its buffers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ia, repoRoot } from "./helpers/engine.js";
import { contextInternals } from "./helpers/internals.js";
import type { ResolvedGuidance as ResolvedWithInternals } from "../lib/guidance.js";
import { TOY_HARMFUL, TOY_HARMLESS } from "./helpers/fixtures.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const gpu = suite("gpu");
const dist = JSON.stringify(join(repoRoot, "dist", "index.js"));
const scratch = join(repoRoot, "test", ".cache", "gpu");
mkdirSync(scratch, { recursive: true });

function child(script: string, env: NodeJS.ProcessEnv = {}): { out: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", `import * as ia from ${dist};\n${script}`], {
    encoding: "utf8",
    env: { ...process.env, INFERALIGNER_GPU: "auto", ...env },
    timeout: 300_000,
  });
  assert.is(r.signal, null, `child killed: ${r.stderr.slice(-600)}`);
  assert.is(r.status, 0, `child failed: ${r.stderr.slice(-1200)}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return { out: JSON.parse(last) as Record<string, unknown>, stderr: r.stderr };
}

const model = tinyModelPath("gpu");
// A source build links llama.cpp statically and refuses GPU backends at run time (lib/gpu.ts).
const prebuiltAddon = ia.getBinding().native.systemInfo().buildMode === "prebuilt";

gpu("gpu: false runs on the CPU; a GPU kind that cannot be used is ERR_GPU_UNAVAILABLE with the reason", () => {
  const { out } = child(`
    const cpu = await ia.LlamaModel.load(${JSON.stringify(model)}, { gpu: false });
    const result = { cpu: [cpu.info.backend, cpu.info.devices.length] };
    for (const kind of ["cuda", "metal"]) {
      try {
        const m = await ia.LlamaModel.load(${JSON.stringify(model)}, { gpu: kind });
        result[kind] = ["loaded", m.info.backend];
      } catch (e) { result[kind] = [e.code, e.message]; }
    }
    try { await ia.LlamaModel.load(${JSON.stringify(model)}, { gpu: "tpu" }); } catch (e) { result.bad = [e.name, e.message]; }
    console.log(JSON.stringify(result));`);
  assert.equal(out.cpu, ["cpu", 0]);
  const [cudaCode, cudaWhy] = out.cuda as [string, string];
  if (cudaCode === "loaded") {
    console.log("    (a CUDA GPU is usable here)");
  } else {
    assert.is(cudaCode, "ERR_GPU_UNAVAILABLE");
    // Either the package is missing (and the message says what to install) or the dynamic loader's reason.
    assert.match(
      cudaWhy,
      /no cuda GPU can be used: .*(is not installed \(npm install @node-llama-cpp\/|cannot open shared object|sees no cuda device|built from source)/,
    );
  }
  if (process.platform !== "darwin") {
    const why = prebuiltAddon
      ? `this build for ${process.platform}-${process.arch} has no metal backend`
      : "this addon was built from source with llama.cpp linked in (CPU only), so it cannot load GPU backends at run time; use the prebuilt addon";
    assert.equal(out.metal, ["ERR_GPU_UNAVAILABLE", `no metal GPU can be used: ${why}`]);
  }
  assert.equal(out.bad, ["TypeError", 'gpu must be "auto", "cuda", "vulkan", "metal" or false, not "tpu"']);
});

gpu('gpu: "auto" falls back to the CPU and says why through the logger, once per process', () => {
  const { out, stderr } = child(`
    const logged = [];
    ia.setLogger((level, text) => logged.push([level, text]));
    const a = await ia.LlamaModel.load(${JSON.stringify(model)});
    const b = await ia.LlamaModel.load(${JSON.stringify(model)}, { gpu: "auto" });
    console.log(JSON.stringify({ backends: [a.info.backend, b.info.backend], logged }));`);
  const backends = out.backends as string[];
  const logged = out.logged as Array<[string, string]>;
  if (backends[0] !== "cpu") {
    console.log(`    (auto found a GPU here: ${backends[0]})`);
    return;
  }
  assert.equal(backends, ["cpu", "cpu"]);
  assert.is(logged.length, 1, JSON.stringify(logged));
  // A development install has node-llama-cpp's GPU packages, which cannot be used without a GPU.
  const [level, text] = logged[0]!;
  if (level === "warn") assert.match(text, /^gpu "auto": running on the CPU, no GPU backend could be used \(/);
  else assert.equal([level, text], ["info", 'gpu "auto": no GPU backend package is installed; running on the CPU']);
  assert.not.match(stderr, /\[inferaligner\] warning/, "the logger replaces stderr");
});

gpu("INFERALIGNER_GPU sets the default; a bad value is a TypeError naming it", () => {
  const script = `try { const m = await ia.LlamaModel.load(${JSON.stringify(model)}); console.log(JSON.stringify({ backend: m.info.backend })); }
    catch (e) { console.log(JSON.stringify({ error: e.name + ": " + e.message })); }`;
  assert.equal(child(script, { INFERALIGNER_GPU: "cpu" }).out, { backend: "cpu" });
  assert.equal(child(script, { INFERALIGNER_GPU: "quantum" }).out, {
    error: 'TypeError: INFERALIGNER_GPU must be auto, cuda, vulkan, metal or false, not "quantum"',
  });
});

// The Vulkan path's shift (ResolvedGuidance through the eval hook, shiftByHook) against the control
// vector that every other backend uses: the same tokens on the CPU, turn after turn (a shift left
// behind by one turn would change the next).
gpu("the eval-hook shift gives the control vector's tokens, and leaves nothing behind for the next turn", async () => {
  const cpu = await ia.LlamaModel.load(model, { gpu: false });
  const vectors = join(scratch, "hook-vectors.gguf");
  ia.writeVectorFile(vectors, await ia.extractSafetyVectors(cpu, { harmful: TOY_HARMFUL, harmless: TOY_HARMLESS, threads: 2 }));
  const context = await cpu.createContext({ contextSize: 256, threads: 2 });
  // `native` is internal: seen through the source type.
  const open = ia.resolveGuidance(cpu, { gate: vectors, threshold: -Infinity, layers: [0, cpu.info.layerCount - 1] }) as unknown as ResolvedWithInternals;
  const native = contextInternals(context)._native;
  const runs: Record<string, string[]> = { controlVector: [], hook: [], alternating: [] };
  const prompts = [...TOY_HARMFUL.slice(0, 2), ...TOY_HARMLESS.slice(0, 2)];
  for (const [name, byHook] of [
    ["controlVector", () => false],
    ["hook", () => true],
    ["alternating", (i: number) => i % 2 === 0],
  ] as const) {
    for (let i = 0; i < prompts.length; i++) {
      context.clear();
      const r = await native.generate(new Uint32Array(cpu.tokenize(prompts[i]!)), { guidance: { ...open.native, shiftByHook: byHook(i) }, maxTokens: 12 });
      assert.is(r.gate?.open, true);
      runs[name]!.push(Array.from(r.tokens).join(","));
    }
  }
  assert.equal(runs.hook, runs.controlVector);
  assert.equal(runs.alternating, runs.controlVector);
  const plain = await context.generate(cpu.tokenize(prompts[0]!), { maxTokens: 12 });
  context.clear();
  const fresh = await (await cpu.createContext({ contextSize: 256, threads: 2 })).generate(cpu.tokenize(prompts[0]!), { maxTokens: 12 });
  assert.equal(plain.tokens, fresh.tokens, "an unguided turn after steered ones is the plain answer");
  await cpu.dispose();
});

function lavapipe(): boolean {
  const icd = "/usr/share/vulkan/icd.d";
  const hasIcd = existsSync(icd) && readdirSync(icd).some((f) => f.startsWith("lvp_icd"));
  const vulkanPackage = existsSync(join(repoRoot, "node_modules", "@node-llama-cpp", `linux-${process.arch}-vulkan`));
  const loader = spawnSync("/bin/sh", ["-c", "ldconfig -p | grep -q 'libvulkan.so.1 '"]).status === 0;
  return process.platform === "linux" && hasIcd && vulkanPackage && loader && prebuiltAddon;
}

// Plain greedy tokens, gate scores and the guided answer on Vulkan against the CPU, in one child.
(lavapipe() ? gpu : gpu.skip)("Vulkan loaded at run time (llvmpipe): same greedy tokens as the CPU, gate scores within 1e-3, same guided answer", () => {
  const vectors = join(scratch, "tiny-vectors.gguf");
  const { out } = child(
    `
    const path = ${JSON.stringify(model)};
    const cpu = await ia.LlamaModel.load(path, { gpu: false });
    ia.writeVectorFile(${JSON.stringify(vectors)}, await ia.extractSafetyVectors(cpu, { harmful: ${JSON.stringify(TOY_HARMFUL)}, harmless: ${JSON.stringify(TOY_HARMLESS)}, threads: 2 }));
    const vk = await ia.LlamaModel.load(path, { gpu: "vulkan", gpuLayers: -1 });
    const result = { backend: vk.info.backend, devices: vk.info.devices.map((d) => d.name + " " + d.description) };
    for (const [name, m] of [["cpu", cpu], ["vulkan", vk]]) {
      const context = await m.createContext({ contextSize: 256, threads: 2 });
      const guidance = ia.resolveGuidance(m, { gate: ${JSON.stringify(vectors)}, threshold: -Infinity });
      const prompts = [...${JSON.stringify(TOY_HARMFUL.slice(0, 2))}, ...${JSON.stringify(TOY_HARMLESS.slice(0, 2))}];
      result[name] = [];
      for (const prompt of prompts) {
        context.clear();
        const plain = await context.generate(m.tokenize(prompt), { maxTokens: 12 });
        context.clear();
        const gated = await ia.resolveGuidance(m, { gate: ${JSON.stringify(vectors)} });
        const scored = await context.generate(m.tokenize(prompt), { maxTokens: 12, guidance: gated });
        context.clear();
        const steered = await context.generate(m.tokenize(prompt), { maxTokens: 12, guidance });
        result[name].push({ plain: plain.tokens, scores: scored.gate.layers.map((l) => l.score), open: scored.gate.open, steered: steered.tokens });
      }
      await context.dispose();
    }
    console.log(JSON.stringify(result));`,
    { GGML_VK_VISIBLE_DEVICES: "0" },
  );
  assert.is(out.backend, "vulkan");
  console.log(`    devices: ${(out.devices as string[]).join(", ")}`);
  type Row = { plain: number[]; scores: number[]; open: boolean; steered: number[] };
  const cpu = out.cpu as Row[];
  const vk = out.vulkan as Row[];
  let worst = 0;
  for (let i = 0; i < cpu.length; i++) {
    assert.equal(vk[i]!.plain, cpu[i]!.plain, `prompt ${i}: plain greedy tokens`);
    assert.is(vk[i]!.open, cpu[i]!.open, `prompt ${i}: gate decision`);
    for (let l = 0; l < cpu[i]!.scores.length; l++) worst = Math.max(worst, Math.abs(vk[i]!.scores[l]! - cpu[i]!.scores[l]!));
    assert.equal(vk[i]!.steered, cpu[i]!.steered, `prompt ${i}: steered greedy tokens`);
  }
  console.log(`    largest gate-score difference Vulkan vs CPU: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-3, `gate scores differ by ${worst}`);
});

gpu.run();
