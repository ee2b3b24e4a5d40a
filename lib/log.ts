// Where messages go: a process-wide handler the user sets (setLogger), else stderr. Two sources:
// the package's own messages (what gpu "auto" found, ...) and llama.cpp's native log, whose
// verbosity setLogLevel sets (silent by default) and which reaches the handler from the addon.

export type LogLevel = "error" | "warn" | "info" | "debug";
export type LogHandler = (level: LogLevel, text: string) => void;

let handler: LogHandler | null = null;
const listeners: Array<(handler: LogHandler | null) => void> = [];

/**
 * Sends the package's messages and llama.cpp's log lines (at the verbosity of `setLogLevel`) to
 * `onLog` instead of stderr; `null` restores stderr (the package's warnings and errors, and
 * llama.cpp's lines at the level set).
 */
export function setLogger(onLog: LogHandler | null): void {
  if (onLog !== null && typeof onLog !== "function") throw new TypeError("setLogger takes a function (level, text) => void, or null");
  handler = onLog;
  for (const listener of listeners) listener(onLog);
}

/** The current handler, and every later change of it (the addon forwards its log to it). @internal */
export function watchLogger(listener: (handler: LogHandler | null) => void): void {
  listeners.push(listener);
  listener(handler);
}

/** @internal */
export function log(level: LogLevel, text: string): void {
  if (handler) {
    handler(level, text);
  } else if (level === "error" || level === "warn") {
    process.stderr.write(`[inferaligner] ${level === "warn" ? "warning" : "error"}: ${text}\n`);
  }
}

/** The addon's level numbers (native/Log.h) as names. @internal */
export const NATIVE_LOG_LEVELS: readonly LogLevel[] = ["error", "error", "warn", "info", "debug"];
