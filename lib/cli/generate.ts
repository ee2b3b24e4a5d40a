// `inferaligner generate`: answer one prompt or a file of prompts, as text or JSON lines.
import { parseArgs } from "node:util";
import { ChatSession } from "../ChatSession.js";
import { LlamaModel } from "../Model.js";
import type { GenerationResult } from "../generation.js";
import { loadPromptSet } from "../prompts.js";
import { resolveGuidance } from "../guidance.js";
import { UsageError, intOption, numberOption, positiveIntOption, reportLeftOut, seedOption, templateOption } from "./args.js";
import { guidanceFlags, guidanceFromFlags, guidanceHelp } from "./guidanceArgs.js";

export const generateHelp = `Usage: inferaligner generate --model <gguf> (--prompt <text> | --prompts <file>) [options]

Generates a response for each prompt. With a chat model the prompt is one user turn rendered
with the model's chat template; --raw continues the text as it is.

Options:
  --model <gguf>        model file (required)
  --prompt <text>       one prompt
  --prompts <file>      prompts file: .json (array of strings or objects), .jsonl, .csv, .txt (one per line)
  --field <name>        text field of object rows (default: instruction, prompt, goal, text, Behavior, forbidden_prompt)
  --limit <n>           only the first n prompts of the file
  --raw                 no chat template: plain completion of the prompt text
  --system <text>       system prompt (chat mode)
  --chat-template <file>  Jinja template instead of the model's (chat mode; must match the gate file's)
  --max-tokens <n>      most tokens to generate per prompt (default 256)
  --temperature <t>     0 = greedy (default 0)
  --top-k <k>  --top-p <p>  --min-p <p>   sampling filters (sampled mode)
  --seed <n>            sampler seed
  --threads <n>         CPU threads (default: all)
  --context-size <n>    context size in tokens (default: model's, at most 4096)
  --gpu-layers <n>      layers to offload to a GPU
  --json                one JSON object per prompt per line:
                        {"prompt","text","promptTokens","tokens","timings":{...},"gate":{...}}
  -h, --help            this help

${guidanceHelp}`;

export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      prompt: { type: "string" },
      prompts: { type: "string" },
      field: { type: "string" },
      limit: { type: "string" },
      raw: { type: "boolean", default: false },
      system: { type: "string" },
      "chat-template": { type: "string" },
      "max-tokens": { type: "string" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      "min-p": { type: "string" },
      seed: { type: "string" },
      threads: { type: "string" },
      "context-size": { type: "string" },
      "gpu-layers": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...guidanceFlags,
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(generateHelp);
    return;
  }
  if (!values.model) throw new UsageError("--model is required");
  if ((values.prompt === undefined) === (values.prompts === undefined)) throw new UsageError("give exactly one of --prompt and --prompts");
  const limit = positiveIntOption("--limit", values.limit);
  let prompts: string[];
  if (values.prompt !== undefined) prompts = [values.prompt];
  else {
    const set = loadPromptSet(values.prompts!, { ...(values.field ? { field: values.field } : {}), ...(limit ? { limit } : {}) });
    reportLeftOut(set);
    prompts = set.prompts;
  }
  if (prompts.some((p) => p.length === 0)) throw new UsageError("the prompt is empty");
  const sampling = {
    maxTokens: positiveIntOption("--max-tokens", values["max-tokens"]) ?? 256,
    temperature: numberOption("--temperature", values.temperature) ?? 0,
    topK: intOption("--top-k", values["top-k"]),
    topP: numberOption("--top-p", values["top-p"]),
    minP: numberOption("--min-p", values["min-p"]),
    seed: seedOption(values.seed),
  };

  const guidanceOptions = guidanceFromFlags(values);
  const template = templateOption(values["chat-template"]);
  const model = await LlamaModel.load(values.model, { gpuLayers: intOption("--gpu-layers", values["gpu-layers"]) });
  try {
    const guidance = guidanceOptions ? resolveGuidance(model, guidanceOptions) : undefined;
    const context = await model.createContext({
      threads: positiveIntOption("--threads", values.threads),
      contextSize: positiveIntOption("--context-size", values["context-size"]),
    });
    for (const prompt of prompts) {
      const stream = !values.json;
      const onToken = stream ? ({ text }: { text: string }) => process.stdout.write(text) : undefined;
      let result: GenerationResult;
      const options = { ...sampling, onToken, ...(guidance ? { guidance } : {}) };
      if (values.raw) {
        result = await context.complete(prompt, options);
      } else {
        const session = new ChatSession(context, { ...(values.system !== undefined ? { systemPrompt: values.system } : {}), ...(template !== undefined ? { template } : {}) });
        result = await session.prompt(prompt, options);
      }
      if (values.json) {
        const { timings } = result;
        process.stdout.write(JSON.stringify({
          prompt,
          text: result.text,
          promptTokens: result.promptTokens,
          tokens: result.tokens,
          stopReason: result.stopReason,
          timings: {
            promptTokenCount: timings.promptTokenCount,
            promptTokensPerSecond: timings.promptTokensPerSecond,
            generatedTokenCount: timings.generatedTokenCount,
            generationTokensPerSecond: timings.generationTokensPerSecond,
          },
          ...(result.gate ? { gate: result.gate } : {}),
        }) + "\n");
      } else {
        process.stdout.write("\n");
      }
    }
  } finally {
    await model.dispose();
  }
}
