// Small helpers for CLI option values; bad values become UsageErrors (exit code 2).
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
