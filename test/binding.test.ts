import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { ia, repoRoot } from "./helpers/engine.js";

const binding = suite("binding");

binding("loads the addon and registers a CPU device", () => {
  const { path, devices, native } = ia.getBinding();
  assert.ok(existsSync(path));
  assert.ok(
    devices.some((d) => d.type === "cpu"),
    `devices: ${JSON.stringify(devices)}`,
  );
  const info = native.systemInfo();
  assert.ok(["prebuilt", "source"].includes(info.buildMode));
  console.log(`    addon: ${path} (${info.buildMode}); devices: ${devices.map((d) => d.name).join(", ")}`);
});

binding("the same binding object is returned on every call", () => {
  assert.is(ia.getBinding(), ia.getBinding());
});

binding("an addon inside an Electron asar archive is loaded from the unpacked copy beside it", () => {
  assert.is(
    ia.unpackedPath("/app/resources/app.asar/node_modules/inferaligner/build/Release/inferaligner.node"),
    "/app/resources/app.asar.unpacked/node_modules/inferaligner/build/Release/inferaligner.node",
  );
  assert.is(ia.unpackedPath("C:\\app\\resources\\app.asar\\node_modules\\x.node"), "C:\\app\\resources\\app.asar.unpacked\\node_modules\\x.node");
  for (const untouched of ["/app/resources/app.asar.unpacked/x.node", "/srv/my.asarchive/x.node", "/srv/plain/x.node"])
    assert.is(ia.unpackedPath(untouched), untouched);
});

// The CPU backend as separate libraries (libggml-cpu-*.so) is how the prebuilt llama.cpp ships; a
// source build links it in, and then there is nothing to leave out.
const buildDir = dirname(ia.getBinding().path);
const cpuBackends = readdirSync(buildDir).filter((f) => /ggml-cpu/.test(f));
(cpuBackends.length > 0 ? binding : binding.skip)("an addon whose folder holds no llama.cpp backend: ERR_BINDING naming the folder, at load", () => {
  const dir = join(repoRoot, "test", ".cache", "no-backend");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(buildDir))
    if (!cpuBackends.includes(f) && /\.(node|so|dylib|dll|json)$|\.so\./.test(f)) copyFileSync(join(buildDir, f), join(dir, f));
  const script = `import * as ia from ${JSON.stringify(join(repoRoot, "dist", "index.js"))};
    try { await ia.LlamaModel.load("/nonexistent.gguf"); } catch (e) { console.log("CODE " + e.code + " " + e.message.replace(/\\n/g, " ")); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    env: { ...process.env, INFERALIGNER_BINARY: join(dir, "inferaligner.node") },
  });
  assert.is(r.signal, null, r.stderr.slice(-400));
  assert.match(r.stdout, /CODE ERR_BINDING .*no llama\.cpp backend .*no-backend/, `${r.stdout} ${r.stderr.slice(-400)}`);
});

binding.run();
