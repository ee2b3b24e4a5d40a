// `inferaligner bench`: what guidance costs on this machine (see lib/bench/runBench.ts).
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { childSample, formatBenchTable, runBench } from "../bench/runBench.js";
import { UsageError, engineOptions, flags, positiveIntOption } from "./args.js";

export const benchHelp = `Usage: inferaligner bench --model <gguf> [options]

Measures prompt processing and generation speed in one process, configurations interleaved after
a warm-up: the plain engine, guidance in monitor mode with the gate closed, steer mode with the
gate open, node-llama-cpp on the same model and settings, and vector extraction; ratios are
against this run's plain engine on the same prompt.

Options:
  --model <gguf>          model file (required)
  --gpu <kind>            auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>        layers to offload to a GPU
  --gate <vectors.gguf>   the model's vector file (default: extracted from the built-in prompt sets)
  --reps <n>              repetitions per configuration (default 5)
  --threads <n>           CPU threads (default min(2, cores))
  --tokens <n>            generated tokens per sample (default 64)
  --llama-bench <path>    also run llama.cpp's llama-bench (built from the same bundle) as the reference
  --compare-binary <label>=<inferaligner.node>   also measure another build of the addon (child processes)
  --no-node-llama-cpp     skip the node-llama-cpp comparison
  --no-extraction         skip the extraction measurement
  --json <file>           write all numbers as JSON
  -h, --help              this help
`;

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...flags("model", "gpu", "gpu-layers", "threads", "help"),
      gate: { type: "string" },
      reps: { type: "string" },
      tokens: { type: "string" },
      "llama-bench": { type: "string" },
      "compare-binary": { type: "string" },
      "no-node-llama-cpp": { type: "boolean", default: false },
      "no-extraction": { type: "boolean", default: false },
      json: { type: "string" },
      "child-sample": { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(benchHelp);
  if (!values.model) throw new UsageError("--model is required");
  const reps = positiveIntOption("--reps", values.reps) ?? 5;
  const genTokens = positiveIntOption("--tokens", values.tokens) ?? 64;
  const threads = positiveIntOption("--threads", values.threads);
  if (reps < 1 || genTokens < 2) throw new UsageError("--reps must be >= 1 and --tokens >= 2");
  if (values["child-sample"]) {
    // Internal: one plain sample of this process's build, for --compare-binary.
    process.stdout.write(JSON.stringify(await childSample(values.model, threads ?? 2, genTokens, engineOptions(values).model)) + "\n");
    return;
  }
  let compareBinary: { label: string; path: string } | undefined;
  if (values["compare-binary"]) {
    const m = /^([\w.-]+)=(.+)$/.exec(values["compare-binary"]);
    if (!m) throw new UsageError("--compare-binary expects <label>=<path of inferaligner.node>");
    compareBinary = { label: m[1]!, path: m[2]! };
  }
  const result = await runBench({
    modelPath: values.model,
    load: engineOptions(values).model,
    reps,
    genTokens,
    ...(threads !== undefined ? { threads } : {}),
    ...(values.gate ? { gate: values.gate } : {}),
    scratchVectorFile: join(tmpdir(), `inferaligner-bench-${process.pid}.gguf`),
    nodeLlamaCpp: !values["no-node-llama-cpp"],
    extraction: !values["no-extraction"],
    ...(values["llama-bench"] ? { llamaBench: values["llama-bench"] } : {}),
    ...(compareBinary ? { compareBinary } : {}),
    log: (line) => process.stderr.write(line + "\n"),
  });
  process.stdout.write(formatBenchTable(result) + "\n");
  if (values.json) {
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, JSON.stringify(result, null, 2) + "\n");
  }
}
