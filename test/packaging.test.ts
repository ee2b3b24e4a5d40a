// The package as users get it: `npm pack` with the linux-x64 prebuild, installed with
// --ignore-scripts into an empty project, run on a PATH that has node and nothing else (no cmake,
// no compiler, no git). Its greedy tokens must equal this checkout's own build on the same prompt
// (in CI's second pass that build is llama.cpp compiled from source).
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ia, oracleGreedy, realModelPaths, repoRoot } from "./helpers/engine.js";
import { tinyModelPath } from "./helpers/tinyModel.js";

const packaging = suite("packaging");
const platformDir = `${process.platform}-${process.arch}`;
const prebuildDir = join(repoRoot, "prebuilds", platformDir);
const work = join(repoRoot, "test", ".cache", "packaging");
const shipsPrebuild = process.platform === "linux" && process.arch === "x64";

/** The newest modification time under the paths the prebuild is made from. */
function newestSource(): number {
  const times: number[] = [];
  const walk = (path: string): void => {
    const s = statSync(path);
    if (s.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else times.push(s.mtimeMs);
  };
  for (const p of ["native", "binding.gyp", "scripts/prebuild.mjs", "scripts/gyp-llama.mjs", "vendor/llama.cpp.json"]) walk(join(repoRoot, p));
  return Math.max(...times);
}

function ensurePrebuild(): void {
  const addon = join(prebuildDir, "inferaligner.node");
  if (existsSync(addon) && statSync(addon).mtimeMs > newestSource()) return;
  console.log("    building the prebuild (npm run prebuilds)");
  const r = spawnSync(process.execPath, [join(repoRoot, "scripts", "prebuild.mjs")], { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `npm run prebuilds failed:\n${(r.stdout + r.stderr).slice(-3000)}`);
}

interface Installed {
  project: string;
  tarball: string;
  files: string[];
  nodeModulesKiB: number;
  /** A PATH holding only `node` and `sh`. */
  bareBin: string;
}
let installed: Installed | undefined;

function install(): Installed {
  if (installed) return installed;
  ensurePrebuild();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  // --ignore-scripts: `prepare` would compile TypeScript again; dist/ is built already.
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 << 20 }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(work, packed[0]!.filename);
  const project = join(work, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2));
  execFileSync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: project, stdio: "ignore" });
  const nodeModulesKiB = Number(execFileSync("du", ["-sk", join(project, "node_modules")], { encoding: "utf8" }).split("\t")[0]);
  const bareBin = join(work, "bin");
  mkdirSync(bareBin);
  symlinkSync(process.execPath, join(bareBin, "node"));
  // npm runs install scripts through sh.
  symlinkSync("/bin/sh", join(bareBin, "sh"));
  installed = { project, tarball, files: packed[0]!.files.map((f) => f.path), nodeModulesKiB, bareBin };
  return installed;
}

/** Runs `node <args>` in the consumer project with only node and sh on PATH and none of our variables. */
function bare(args: string[], i: Installed): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(join(i.bareBin, "node"), args, {
    cwd: i.project,
    encoding: "utf8",
    env: { PATH: i.bareBin, HOME: work, INFERALIGNER_GPU: "cpu" },
    maxBuffer: 64 << 20,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

(shipsPrebuild ? packaging : packaging.skip)("the tarball carries the prebuild, llama.cpp's headers and licence, and nothing of the checkout", () => {
  const i = install();
  const files = new Set(i.files);
  for (const f of [
    `prebuilds/${platformDir}/inferaligner.node`,
    `prebuilds/${platformDir}/libllama.v0.4.0.so`,
    `prebuilds/${platformDir}/libggml-base.so`,
    `prebuilds/${platformDir}/LICENSE.llama.cpp`,
    "binding.gyp",
    "vendor/include/llama.h",
    "vendor/include/ggml.h",
    "dist/index.js",
    "dist/cli/index.js",
  ])
    assert.ok(files.has(f), `${f} missing from the tarball`);
  assert.ok(
    i.files.some((f) => /libggml-cpu-/.test(f)),
    "no CPU backend library in the tarball",
  );
  for (const f of i.files) assert.not.match(f, /^(test|bench|node_modules|vendor\/llama\.cpp|build)\//, `${f} should not ship`);
  console.log(`    tarball ${statSync(i.tarball).size >> 20} MiB, ${i.files.length} files`);
});

// What lets one binary serve every Node.js >= 20 and Electron: of Node's own symbols the addon
// uses only the stable N-API (napi_*, node_api_*), never V8, libuv or node:: internals.
(shipsPrebuild ? packaging : packaging.skip)("the prebuilt addon uses Node only through N-API", () => {
  ensurePrebuild();
  const undefinedSymbols = execFileSync("readelf", ["--dyn-syms", "--wide", join(prebuildDir, "inferaligner.node")], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[6] === "UND" && f[7])
    .map((f) => f[7]!.replace(/@.*/, ""));
  const napi = undefinedSymbols.filter((s) => /^(napi|node_api)_/.test(s));
  const engineInternals = undefinedSymbols.filter((s) => /^(_ZN2v8|_ZNK2v8|_ZN4node|_ZNK4node|uv_|node_module_register)/.test(s));
  assert.ok(napi.length > 30, `only ${napi.length} napi_ symbols`);
  assert.equal(engineInternals, []);
  console.log(`    ${napi.length} N-API symbols, no V8/libuv/node internals`);
});

(shipsPrebuild ? packaging : packaging.skip)("installed with --ignore-scripts: node_modules under 150 MB, and no toolchain on the PATH", () => {
  const i = install();
  console.log(`    du -sk node_modules: ${i.nodeModulesKiB} KiB (${(i.nodeModulesKiB / 1024).toFixed(1)} MiB)`);
  assert.ok(i.nodeModulesKiB < 150 * 1024, `node_modules is ${i.nodeModulesKiB} KiB`);
  assert.not.ok(existsSync(join(i.project, "node_modules", "inferaligner", "build")), "the installed package has a build/ folder");
  assert.not.ok(existsSync(join(i.project, "node_modules", "node-llama-cpp")), "node-llama-cpp was installed (it is a development dependency)");
  for (const tool of ["cmake", "g++", "c++", "cc", "gcc", "clang", "git", "make", "python3"]) {
    const r = spawnSync("/bin/sh", ["-c", `command -v ${tool}`], { env: { PATH: i.bareBin } });
    assert.is.not(r.status, 0, `${tool} is reachable on the bare PATH`);
  }
});

(shipsPrebuild ? packaging : packaging.skip)("the installed package loads its prebuild, from CommonJS and from the CLI", () => {
  const i = install();
  const version = bare([join("node_modules", ".bin", "inferaligner"), "--version"], i);
  assert.is(version.status, 0, version.stderr);
  assert.match(version.stdout, new RegExp(`addon .*node_modules/inferaligner/prebuilds/${platformDir}/inferaligner\\.node`));
  const cjs = bare(["-e", `const ia = require("inferaligner"); console.log(typeof ia.LlamaModel.load, typeof ia.readVectorFile)`], i);
  assert.is(cjs.status, 0, cjs.stderr);
  assert.is(cjs.stdout.trim(), "function function");
});

function generateTokens(cli: string, cwd: string, env: NodeJS.ProcessEnv, model: string, prompt: string): { tokens: number[]; promptTokens: number[] } {
  const args = [cli, "generate", "--model", model, "--prompt", prompt, "--max-tokens", "24", "--threads", "2", "--context-size", "1024", "--json"];
  const r = spawnSync(process.execPath, args, {
    cwd,
    env,
    encoding: "utf8",
  });
  assert.is(r.status, 0, `${cli}: ${r.stderr.slice(-600)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { tokens: number[]; promptTokens: number[] };
}

// Where npm runs install scripts (allowed, or an older npm), ours must find the prebuild and build
// nothing: here on a PATH with node only, so that any attempt to compile would fail.
(shipsPrebuild ? packaging : packaging.skip)("installed with its install script allowed: the script takes the prebuild and builds nothing", () => {
  const i = install();
  const npmCli = realpathSync(execFileSync("/bin/sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim());
  const project = join(work, "project-with-scripts");
  rmSync(project, { recursive: true, force: true });
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer-scripts", version: "1.0.0", private: true }));
  const r = spawnSync(process.execPath, [npmCli, "install", "--foreground-scripts", "--no-audit", "--no-fund", "--prefer-offline", i.tarball], {
    cwd: project,
    encoding: "utf8",
    env: { PATH: i.bareBin, HOME: process.env.HOME ?? work },
  });
  assert.is(r.status, 0, (r.stdout + r.stderr).slice(-1500));
  assert.match(r.stdout + r.stderr, new RegExp(`\\[inferaligner\\] using .*node_modules/inferaligner/prebuilds/${platformDir}/inferaligner\\.node`));
  assert.not.ok(existsSync(join(project, "node_modules", "inferaligner", "build")), "the install script built something");
});

// Electron reads JavaScript from inside app.asar, but the dynamic loader cannot open a library
// there: the native files are unpacked beside it, in app.asar.unpacked. Simulated with a folder
// named app.asar that holds the package without its prebuilds, and the prebuilds only in the
// unpacked copy (what electron-builder's asarUnpack leaves on disk).
(shipsPrebuild ? packaging : packaging.skip)("in a simulated Electron app.asar layout, the addon and its libraries load from app.asar.unpacked", () => {
  const i = install();
  const resources = join(work, "electron", "resources");
  const packed = join(resources, "app.asar", "node_modules");
  const unpacked = join(resources, "app.asar.unpacked", "node_modules", "inferaligner");
  rmSync(join(work, "electron"), { recursive: true, force: true });
  mkdirSync(packed, { recursive: true });
  cpSync(join(i.project, "node_modules"), packed, { recursive: true, dereference: true });
  mkdirSync(unpacked, { recursive: true });
  renameSync(join(packed, "inferaligner", "prebuilds"), join(unpacked, "prebuilds"));
  const model = tinyModelPath("packaging");
  const script = join(resources, "app.asar", "main.cjs");
  writeFileSync(
    script,
    `const ia = require("inferaligner");
     (async () => {
       const model = await ia.LlamaModel.load(${JSON.stringify(model)}, { gpu: false });
       const context = await model.createContext({ contextSize: 128 });
       const r = await context.generate(model.tokenize("hello"), { maxTokens: 4 });
       console.log(JSON.stringify({ tokens: r.tokens.length, backend: model.info.backend }));
       await model.dispose();
     })().catch((e) => { console.error(e.code, e.message); process.exit(1); });`,
  );
  const r = spawnSync(join(i.bareBin, "node"), [script], { cwd: resources, encoding: "utf8", env: { PATH: i.bareBin, HOME: work } });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.trim()), { tokens: 4, backend: "cpu" });
  const version = spawnSync(join(i.bareBin, "node"), [join(packed, "inferaligner", "dist", "cli", "index.js"), "--version"], {
    encoding: "utf8",
    env: { PATH: i.bareBin, HOME: work },
  });
  assert.match(version.stdout, /addon .*app\.asar\.unpacked\/node_modules\/inferaligner\/prebuilds\//, version.stdout + version.stderr);
});

const qwen = realModelPaths().qwen2;
(shipsPrebuild ? packaging : packaging.skip)(
  `the installed package's \`generate\` gives this checkout's greedy tokens (${qwen ? "Qwen2.5-Coder" : "a tiny model"})`,
  async () => {
    const i = install();
    const model = qwen ?? tinyModelPath("packaging");
    const prompt = "Write a short poem about a lighthouse keeper.";
    const bareEnv = { PATH: i.bareBin, HOME: work, INFERALIGNER_GPU: "cpu" };
    const packaged = generateTokens(join(i.project, "node_modules", "inferaligner", "dist", "cli", "index.js"), i.project, bareEnv, model, prompt);
    const own = generateTokens(join(repoRoot, "dist", "cli", "index.js"), repoRoot, { ...process.env, INFERALIGNER_GPU: "cpu" }, model, prompt);
    const build = ia.getBinding().native.systemInfo().buildMode;
    const equal = packaged.tokens.join(",") === own.tokens.join(",");
    console.log(`    packaged prebuild vs this checkout's ${build} build: ${packaged.tokens.length} tokens, equal: ${equal}`);
    assert.ok(packaged.tokens.length > 0);
    // The prebuild carries node-llama-cpp's own prebuilt llama.cpp libraries: its greedy tokens are
    // node-llama-cpp's, exactly, whatever this checkout was built with.
    assert.equal(packaged.tokens, await oracleGreedy(model, packaged.promptTokens, 24, 1024), "the packaged prebuild's tokens equal node-llama-cpp's");
    // This checkout's build equals it when it runs the same libraries; a source build compiles other
    // kernels (-march=native), which may take another token at a near-tie (an AVX-512 AMD EPYC VM
    // did, on this prompt): expectOracleGreedy checks the source build against the oracle.
    if (build === "prebuilt") assert.equal(packaged.tokens, own.tokens);
  },
);

packaging.run();
