#!/usr/bin/env node
// The release step (`npm run prebuild`): builds the N-API addon for this platform with prebuildify
// (node-gyp, binding.gyp) against the prebuilt llama.cpp libraries of the pinned release, and puts
// it under prebuilds/<platform>-<arch>/ with the CPU libraries it needs beside it, so that the
// package runs where it is installed without a compiler, cmake or git (`npm pack` ships it).
//
// node-gyp's `rebuild` empties the build/ folder it works in; it runs in a staging folder so that
// a developer's build/ (cmake-js trees, build/Release) is left alone.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cpuLibraries, ensureLlamaHeaders, pin, root, shippedVariant, variantLibraryDir } from "./llama-source.mjs";

const platformDir = `${process.platform}-${process.arch}`;
const variant = shippedVariant();
const libDir = variantLibraryDir(variant);
if (!libDir) throw new Error(`@node-llama-cpp/${variant} is not installed (npm ci installs it with node-llama-cpp)`);
const headers = ensureLlamaHeaders();

const stage = mkdtempSync(join(tmpdir(), "inferaligner-prebuild-"));
for (const entry of ["binding.gyp", "native", "scripts", "vendor", "package.json", "node_modules"]) symlinkSync(join(root, entry), join(stage, entry));

// node-gyp needs Node's headers; where Node was installed with them (Debian/NodeSource packages,
// the official tarballs) they are used, so the build needs no download.
const env = { ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "common.gypi"))) env.npm_config_nodedir = prefix;
const nodeGyp = join(root, "node_modules", ".bin", process.platform === "win32" ? "node-gyp.cmd" : "node-gyp");
const prebuildify = join(root, "node_modules", "prebuildify", "bin.js");
console.error(`[inferaligner] prebuildify (N-API, node-gyp) in ${stage}`);
try {
  execFileSync(process.execPath, [prebuildify, "--napi", "--strip", "--target", `node@${process.versions.node}`, "--node-gyp", nodeGyp, "--cwd", stage], {
    stdio: "inherit",
    env,
  });
  const built = join(stage, "prebuilds", platformDir);
  const dest = join(root, "prebuilds", platformDir);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  for (const file of readdirSync(built)) copyFileSync(join(built, file), join(dest, file));
  for (const file of cpuLibraries(libDir)) copyFileSync(join(libDir, file), join(dest, file));
  copyFileSync(join(headers, "LICENSE.llama.cpp"), join(dest, "LICENSE.llama.cpp"));
  const info = {
    mode: "prebuilt",
    variant,
    llamaCpp: pin.tag,
    commit: pin.commit,
    nodeLlamaCpp: pin.nodeLlamaCpp,
    builtWith: "prebuildify",
    builtAt: new Date().toISOString(),
  };
  writeFileSync(join(dest, "build-info.json"), JSON.stringify(info, null, 2) + "\n");
  console.error(`[inferaligner] prebuild in ${dest}: ${readdirSync(dest).join(", ")}`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
