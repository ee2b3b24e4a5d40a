#!/usr/bin/env node
// npm's install hook. The package ships a prebuilt addon for linux-x64 in prebuilds/ (with the
// llama.cpp CPU libraries beside it); where it loads there is nothing to do, and installing with
// --ignore-scripts loses nothing. Elsewhere the addon is built with cmake-js against node-llama-cpp's
// prebuilt libraries, which needs cmake, a C++17 compiler, git and the optional peer dependencies
// node-llama-cpp and cmake-js (the pinned versions); without them the hook says what to install.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { packageDir, pin, root } from "./llama-source.mjs";

const peers = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).peerDependencies;

function loads(file) {
  // In a child process: a bad .node file can crash the process that loads it.
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(file)})`], { stdio: "ignore" });
  return r.status === 0;
}

function prebuiltAddons() {
  const dir = join(root, "prebuilds", `${process.platform}-${process.arch}`);
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith(".node"))
        .map((f) => join(dir, f))
    : [];
}

if (process.env.INFERALIGNER_FORCE_BUILD !== "1") {
  for (const file of [join(root, "build", "Release", "inferaligner.node"), ...prebuiltAddons()]) {
    if (existsSync(file) && loads(file)) {
      console.error(`[inferaligner] using ${file}`);
      process.exit(0);
    }
  }
}
const missing = ["node-llama-cpp", "cmake-js"].filter((name) => !packageDir(name));
if (missing.length > 0) {
  console.error(
    `[inferaligner] no prebuilt addon for ${process.platform}-${process.arch} loads here, and building one needs ` +
      `${missing.join(" and ")}: install node-llama-cpp@${pin.nodeLlamaCpp} and cmake-js@${peers["cmake-js"]} beside inferaligner ` +
      "(cmake, a C++17 compiler and git on PATH), then run `npm rebuild inferaligner`.",
  );
  process.exit(1);
}
const r = spawnSync(process.execPath, [join(root, "scripts", "build-native.mjs")], { stdio: "inherit" });
process.exit(r.status ?? 1);
