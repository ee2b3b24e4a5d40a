// `inferaligner generate`: answer one prompt or a file of prompts, as text or JSON lines.
import { parseArgs } from "node:util";
import { ChatSession } from "../ChatSession.js";
import { LlamaModel } from "../Model.js";
import type { GenerationResult } from "../generation.js";
import { loadPromptSet } from "../prompts.js";
import { resolveGuidance } from "../guidance.js";
import { UsageError, engineOptions, flags, intOption, numberOption, positiveIntOption, reportLeftOut, seedOption, templateOption } from "./args.js";
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
  --gpu <kind>          auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>      layers to offload to a GPU
  --json                one JSON object per prompt per line:
                        {"prompt","text","promptTokens","tokens","timings":{...},"gate":{...}}
  -h, --help            this help

${guidanceHelp}`;

const generateFlags = {
  ...flags(
    "model",
    "gpu",
    "gpu-layers",
    "threads",
    "context-size",
    "chat-template",
    "system",
    "max-tokens",
    "temperature",
    "seed",
    "field",
    "limit",
    "json",
    "help",
  ),
  prompt: { type: "string" },
  prompts: { type: "string" },
  raw: { type: "boolean", default: false },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "min-p": { type: "string" },
  ...guidanceFlags,
} as const;

type GenerateValues = ReturnType<typeof parseGenerateArgs>;

function parseGenerateArgs(argv: string[]) {
  return parseArgs({ args: argv, options: generateFlags, strict: true }).values;
}

export async function generateCommand(argv: string[]): Promise<void> {
  const values = parseGenerateArgs(argv);
  if (values.help) return void process.stdout.write(generateHelp);
  if (!values.model) throw new UsageError("--model is required");
  const prompts = promptsOf(values);
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
  const engine = engineOptions(values);
  const model = await LlamaModel.load(values.model, engine.model);
  try {
    const guidance = guidanceOptions ? resolveGuidance(model, guidanceOptions) : undefined;
    const context = await model.createContext(engine.context);
    const sessionOptions = { ...(values.system !== undefined ? { systemPrompt: values.system } : {}), ...(template !== undefined ? { template } : {}) };
    for (const prompt of prompts) {
      const onToken = values.json ? undefined : ({ text }: { text: string }) => process.stdout.write(text);
      const options = { ...sampling, onToken, ...(guidance ? { guidance } : {}) };
      const result = values.raw ? await context.complete(prompt, options) : await new ChatSession(context, sessionOptions).prompt(prompt, options);
      process.stdout.write(values.json ? JSON.stringify(resultRecord(prompt, result)) + "\n" : "\n");
    }
  } finally {
    await model.dispose();
  }
}

/** --prompt, or the rows of --prompts (what was left out said on stderr). */
function promptsOf(values: GenerateValues): string[] {
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
  return prompts;
}

/** One line of --json output. */
function resultRecord(prompt: string, result: GenerationResult) {
  const { timings } = result;
  return {
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
  };
}
