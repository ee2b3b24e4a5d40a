#!/usr/bin/env node
// Runs the uvu suites (test/**/*.test.ts, through tsx) in one process and ends with the line
// `N passed, N failed` that CI reads. Usage: node test/run.mjs [substring filter ...]
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
// The suites run on the CPU unless told otherwise (a development install has node-llama-cpp's GPU
// packages, which gpu "auto" would try); the GPU tests choose their backend explicitly.
process.env.INFERALIGNER_GPU ??= "cpu";
const testDir = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "helpers" || entry.name.startsWith(".") ? [] : collect(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

const files = collect(testDir)
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
const suites = files.map((file) => ({ name: relative(testDir, file), file }));

// uvu prints its totals to stdout; read them from there rather than re-implementing its runner.
let output = "";
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  output += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
  return write(chunk, ...rest);
};

const { run } = await import("uvu/run");
await run(suites, { bail: false });
process.stdout.write = write;

// eslint-disable-next-line no-control-regex -- the ANSI colour codes uvu prints
const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0);
const failed = total - passed;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
// Native handles (thread pools of the oracle engine) may outlive the suites: exit explicitly.
process.exit(failed > 0 || total === 0 ? 1 : 0);
