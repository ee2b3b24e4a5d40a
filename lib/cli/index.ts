#!/usr/bin/env node
// The `inferaligner` command line.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { getBinding, packageRoot } from "../binding.js";
import { LlamaError } from "../errors.js";
import { UsageError } from "./args.js";
import { benchCommand, benchHelp } from "./bench.js";
import { calibrateCommand, calibrateHelp } from "./calibrate.js";
import { chatCommand, chatHelp } from "./chat.js";
import { evalCommand, evalHelp } from "./eval.js";
import { extractCommand, extractHelp, inspectCommand, inspectHelp } from "./extract.js";
import { generateCommand, generateHelp } from "./generate.js";

const help = `Usage: inferaligner <command> [options]

Commands:
  generate   generate responses for prompts (chat template or --raw), with optional guidance
  chat       interactive chat, streaming, showing the gate decision per turn
  extract    extract a model's safety vectors into a vector file (GGUF)
  inspect    show what a vector file holds
  bench      measure what guidance costs (speed ratios against the plain engine and node-llama-cpp)
  calibrate  choose the steering strength and layers on validation prompts (--save stores them)
  eval       measure attack success, jailbreaks, over-refusal and harmless preservation; writes a report

Run 'inferaligner <command> --help' for a command's options; 'inferaligner --version' says which
build of the addon and of llama.cpp this is, and which devices it sees.
`;

/** The package version, the addon that loads (its build record) and the devices its backends see. */
function versionText(): string {
  const { version } = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string };
  const lines = [`inferaligner ${version} (Node ${process.versions.node}, N-API ${process.versions.napi}, ${process.platform}-${process.arch})`];
  try {
    const { path, devices } = getBinding();
    const record = join(dirname(path), "build-info.json");
    const info = existsSync(record)
      ? (JSON.parse(readFileSync(record, "utf8")) as { mode?: string; variant?: string; llamaCpp?: string; commit?: string })
      : {};
    lines.push(`addon ${path}` + (info.mode ? ` (${info.mode} build, ${info.variant})` : ""));
    if (info.llamaCpp) lines.push(`llama.cpp ${info.llamaCpp} (commit ${info.commit?.slice(0, 12)})`);
    lines.push(`devices: ${devices.map((d) => `${d.name} [${d.type}]`).join(", ") || "none"}`);
  } catch (error) {
    lines.push(`addon: not loadable: ${(error as Error).message.replace(/\n\s*/g, " ")}`);
  }
  return lines.join("\n") + "\n";
}

const commands: Record<string, { run: (argv: string[]) => Promise<void>; help: string }> = {
  generate: { run: generateCommand, help: generateHelp },
  chat: { run: chatCommand, help: chatHelp },
  extract: { run: extractCommand, help: extractHelp },
  inspect: { run: inspectCommand, help: inspectHelp },
  eval: { run: evalCommand, help: evalHelp },
  calibrate: { run: calibrateCommand, help: calibrateHelp },
  bench: { run: benchCommand, help: benchHelp },
};

const INTERNAL_TYPE_ERROR = /Cannot read properties|is not a function|is not iterable|Maximum call stack/;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(help);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v" || name === "version") {
    process.stdout.write(versionText());
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`inferaligner: unknown command '${name}'\n\n${help}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`inferaligner ${name}: ${(error as Error).message}\n\n${command.help}`);
      return 2;
    }
    if (error instanceof LlamaError) {
      process.stderr.write(`inferaligner ${name}: ${error.message} [${error.code}]\n`);
      return 1;
    }
    // The library's argument checks (a temperature out of range, a block outside the model) are
    // the user's input: one line and the usage exit code, as for a bad flag. Anything else is a bug
    // and keeps its stack.
    if ((error instanceof RangeError || error instanceof TypeError) && !INTERNAL_TYPE_ERROR.test(error.message)) {
      process.stderr.write(`inferaligner ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

// `inferaligner generate ... | head -1`: the reader went away; that ends the command, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
