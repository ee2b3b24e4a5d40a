#!/usr/bin/env node
// npm run test:asan: the test suites against an addon built with AddressSanitizer (and UBSan).
// Node itself is not instrumented: the sanitizer runtime is preloaded, leak detection is off (Node
// and V8 keep memory to the end by design), and the report of any error ends the process.
// Usage: node scripts/test-asan.mjs [test filter ...]
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { root } from "./llama-source.mjs";

const sanitize = "address,undefined";
const out = join(root, "build", "asan");
execFileSync(process.execPath, [join(root, "scripts", "build-native.mjs"), "--out-dir", out], {
  stdio: "inherit",
  env: { ...process.env, INFERALIGNER_SANITIZE: sanitize },
});
const runtime = (name) => execFileSync("gcc", [`-print-file-name=${name}`], { encoding: "utf8" }).trim();
const preload = [runtime("libasan.so"), runtime("libubsan.so")].filter((p) => p.startsWith("/") && existsSync(p));
if (preload.length === 0) throw new Error("no libasan.so found (gcc -print-file-name=libasan.so): install the compiler's sanitizer runtime");

const env = {
  ...process.env,
  INFERALIGNER_BINARY: join(out, "inferaligner.node"),
  LD_PRELOAD: preload.join(" "),
  // Node installs its own SIGSEGV handler (WebAssembly bounds); ASan must not take it over.
  ASAN_OPTIONS: "detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:abort_on_error=1:print_summary=1",
  UBSAN_OPTIONS: "print_stacktrace=1:halt_on_error=1",
};
console.error(`[asan] addon ${env.INFERALIGNER_BINARY}; preloading ${env.LD_PRELOAD}`);
const r = spawnSync(process.execPath, [join(root, "test", "run.mjs"), ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(r.status ?? 1);
