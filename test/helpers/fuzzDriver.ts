// Runs a seeded fuzz run in child processes (fuzzChild.ts) and classifies every case: success, a
// coded LlamaError, an uncoded exception, a crash (the child died inside the case) or a hang (no
// answer within the case time limit). After a crash or a hang the run goes on in a fresh child
// from the next case, so one run reports every failing case, each replayable from (seed, index).
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { FuzzChildConfig } from "./fuzzChild.js";

export interface FuzzFailure {
  index: number;
  what: string;
  detail: string;
}

export interface FuzzSummary {
  cases: number;
  ok: number;
  /** Cases that ended in a LlamaError, by code. */
  codes: Record<string, number>;
  uncoded: FuzzFailure[];
  crashes: FuzzFailure[];
  hangs: FuzzFailure[];
  /** Slowest case, ms. */
  slowestMs: number;
}

export interface FuzzRunOptions extends Omit<FuzzChildConfig, "start" | "end"> {
  cases: number;
  /** A case without an answer by then is a hang (default 30 s). */
  caseTimeoutMs?: number;
  onProgress?: (done: number, summary: FuzzSummary) => void;
}

const childScript = fileURLToPath(new URL("./fuzzChild.ts", import.meta.url));
// Resolved here, so that the child finds tsx whatever the working folder.
const tsx = import.meta.resolve("tsx");

export async function runFuzz(options: FuzzRunOptions): Promise<FuzzSummary> {
  const { cases, caseTimeoutMs = 30_000, onProgress, ...child } = options;
  mkdirSync(child.scratch, { recursive: true });
  const summary: FuzzSummary = { cases: 0, ok: 0, codes: {}, uncoded: [], crashes: [], hangs: [], slowestMs: 0 };
  let next = 0;
  while (next < cases) {
    next = await runChild({ ...child, start: next, end: cases }, caseTimeoutMs, summary, onProgress);
  }
  return summary;
}

/** Runs one child from config.start; returns the first case it did not get to. */
function runChild(config: FuzzChildConfig, caseTimeoutMs: number, summary: FuzzSummary, onProgress?: FuzzRunOptions["onProgress"]): Promise<number> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--import", tsx, childScript, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    let current: { index: number; what: string } | null = null;
    let next = config.start;
    let hung = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        proc.kill("SIGKILL");
      }, caseTimeoutMs);
    };
    arm(); // the child's own start-up counts against the first case
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const start = /^START (\d+) (.*)$/.exec(line);
      if (start) {
        current = { index: Number(start[1]), what: start[2]! };
        arm();
        return;
      }
      const end = /^END (\d+) (\d+) (.*)$/.exec(line);
      if (!end || !current) return;
      const ms = Number(end[2]);
      const result = end[3]!;
      summary.cases++;
      summary.slowestMs = Math.max(summary.slowestMs, ms);
      if (result === "ok") summary.ok++;
      else if (result.startsWith("coded ")) {
        const code = result.slice(6);
        summary.codes[code] = (summary.codes[code] ?? 0) + 1;
      } else summary.uncoded.push({ index: current.index, what: current.what, detail: result });
      next = current.index + 1;
      current = null;
      onProgress?.(next, summary);
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      for (const name of readdirSync(config.scratch)) {
        if (name.startsWith(`case-${proc.pid}-`)) rmSync(join(config.scratch, name), { force: true });
      }
      if (current) {
        summary.cases++;
        const failure = {
          index: current.index,
          what: current.what,
          detail: hung ? `no answer in ${caseTimeoutMs} ms` : `exit ${code ?? signal}: ${stderr.trim().split("\n").slice(-6).join(" | ")}`,
        };
        (hung ? summary.hangs : summary.crashes).push(failure);
        next = current.index + 1;
        onProgress?.(next, summary);
      } else if (code !== 0 || hung) {
        // Died outside a case: at start-up (counted against the next case, so the run moves on) or
        // in the teardown after its last case (disposing what the cases left). Either is a failure.
        const detail = hung ? `no answer in ${caseTimeoutMs} ms` : `exit ${code ?? signal}: ${stderr.trim().split("\n").slice(-6).join(" | ")}`;
        const failure = { index: next, what: next < config.end ? "start-up" : "teardown after the last case", detail };
        (hung ? summary.hangs : summary.crashes).push(failure);
        if (next < config.end) {
          summary.cases++;
          next++;
        }
      }
      resolve(Math.max(next, code === 0 ? config.end : next));
    });
  });
}
