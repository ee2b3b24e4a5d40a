// Small helpers for CLI option values; bad values become UsageErrors (exit code 2).
import { readFileSync } from "node:fs";
export class UsageError extends Error {
  override name = "UsageError";
}

export function numberOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new UsageError(`${flag} expects a number, got '${value}'`);
  return n;
}

export function intOption(flag: string, value: string | undefined): number | undefined {
  const n = numberOption(flag, value);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`${flag} expects an integer, got '${value}'`);
  return n;
}

/** The Jinja text of --chat-template <file>. */
export function templateOption(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--chat-template: cannot read ${path}: ${(error as Error).message}`);
  }
}
