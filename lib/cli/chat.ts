// `inferaligner chat`: an interactive conversation that streams answers and shows each turn's gate.
import { createInterface, type Interface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { ChatSession } from "../ChatSession.js";
import { GenerationAbortedError } from "../errors.js";
import { resolveGuidance, type GateReport } from "../guidance.js";
import { LlamaModel } from "../Model.js";
import { UsageError, engineOptions, flags, numberOption, positiveIntOption, seedOption, templateOption } from "./args.js";
import { guidanceFlags, guidanceFromFlags, guidanceHelp } from "./guidanceArgs.js";

export const chatHelp = `Usage: inferaligner chat --model <gguf> [options]

An interactive chat on stdin/stdout. Each turn's gate decision is shown on stderr.
Type /reset to start over, /exit (or end of input) to leave. Ctrl-C stops the answer being
written; at the prompt (or pressed twice) it leaves.

Options:
  --model <gguf>        model file (required)
  --system <text>       system prompt
  --chat-template <file>  Jinja template instead of the model's (must match the gate file's)
  --max-tokens <n>      most tokens per answer (default 512)
  --temperature <t>     0 = greedy (default 0)
  --seed <n>            sampler seed
  --threads <n>         CPU threads
  --context-size <n>    context size in tokens
  --gpu <kind>          auto (default), cuda, vulkan, metal or cpu: where the model runs
  --gpu-layers <n>      layers to offload to a GPU
  -h, --help            this help

${guidanceHelp}`;

export function formatGate(gate: GateReport): string {
  const layers = gate.layers.map((l) => `layer ${l.layer}: ${l.score.toFixed(4)} ${l.score > l.threshold ? ">" : "<="} ${l.threshold.toFixed(4)}`).join(", ");
  return `[gate ${gate.open ? "OPEN" : "closed"} (${gate.mode}) ${layers}]`;
}

const chatFlags = {
  ...flags("model", "gpu", "gpu-layers", "threads", "context-size", "system", "chat-template", "max-tokens", "temperature", "seed", "help"),
  ...guidanceFlags,
} as const;

type TurnOptions = NonNullable<Parameters<ChatSession["prompt"]>[1]>;

export async function chatCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: chatFlags });
  if (values.help) return void process.stdout.write(chatHelp);
  if (!values.model) throw new UsageError("--model is required");
  const guidanceOptions = guidanceFromFlags(values);
  const template = templateOption(values["chat-template"]);
  const seed = seedOption(values.seed);
  const turn: TurnOptions = {
    maxTokens: positiveIntOption("--max-tokens", values["max-tokens"]) ?? 512,
    temperature: numberOption("--temperature", values.temperature) ?? 0,
    ...(seed !== undefined ? { seed } : {}),
  };
  const engine = engineOptions(values);
  const model = await LlamaModel.load(values.model, engine.model);
  let rl: Interface | undefined;
  try {
    if (guidanceOptions) turn.guidance = resolveGuidance(model, guidanceOptions);
    const context = await model.createContext(engine.context);
    const session = new ChatSession(context, {
      ...(values.system !== undefined ? { systemPrompt: values.system } : {}),
      ...(template !== undefined ? { template } : {}),
    });
    // Created only now: the interface starts reading at once, and lines it reads before the loop
    // below iterates would be lost. Iterating buffers lines typed (or piped) during an answer.
    rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY === true });
    await converse(session, rl, turn);
  } finally {
    rl?.close();
    await model.dispose();
  }
}

/** Reads lines and answers them until /exit, the end of input or an interrupt at the prompt. */
async function converse(session: ChatSession, rl: Interface, turn: TurnOptions): Promise<void> {
  // Ctrl-C stops the running answer (the context stays usable); at the prompt, or a second time
  // before the answer has stopped, it leaves. A terminal readline reports it as its own event.
  let answering: AbortController | undefined;
  const onInterrupt = () => {
    if (answering && !answering.signal.aborted) return answering.abort();
    if (answering) process.exit(130);
    rl.close();
  };
  rl.on("SIGINT", onInterrupt);
  process.on("SIGINT", onInterrupt);
  process.stdout.write("> ");
  for await (const line of rl) {
    const text = line.trim();
    if (text === "/exit") break;
    if (text === "/reset") session.reset();
    else if (text !== "") {
      answering = new AbortController();
      await answer(session, text, { ...turn, signal: answering.signal });
      answering = undefined;
    }
    process.stdout.write("> ");
  }
}

/** One turn, streamed to stdout, its gate on stderr; a stopped answer is said, not thrown. */
async function answer(session: ChatSession, text: string, options: TurnOptions): Promise<void> {
  try {
    const result = await session.prompt(text, { ...options, onToken: ({ text: piece }) => process.stdout.write(piece) });
    process.stdout.write("\n");
    if (result.gate) process.stderr.write(formatGate(result.gate) + "\n");
  } catch (error) {
    if (!(error instanceof GenerationAbortedError)) throw error;
    process.stdout.write("\n[stopped]\n");
  }
}
