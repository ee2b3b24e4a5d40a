#!/usr/bin/env node
// npm's install hook. A package installed from the registry ships prebuilt addons in prebuilds/;
// if the one for this platform loads, there is nothing to do. Otherwise build from source with
// cmake-js (needs cmake and a C++17 compiler). npm 11 runs a dependency's install script only when
// the user allows it (allowScripts): without it the prebuilt binary is used as is, and a user on a
// platform with no prebuilt binary runs `npm run build:native` in node_modules/inferaligner.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { root } from "./llama-source.mjs";

function loads(file) {
  // In a child process: a bad .node file can crash the process that loads it.
  const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(file)})`], { stdio: "ignore" });
  return r.status === 0;
}

const prebuilt = join(root, "prebuilds", `${process.platform}-${process.arch}`, "inferaligner.node");
const local = join(root, "build", "Release", "inferaligner.node");
if (process.env.INFERALIGNER_FORCE_BUILD !== "1") {
  for (const file of [local, prebuilt]) {
    if (existsSync(file) && loads(file)) {
      console.error(`[inferaligner] using ${file}`);
      process.exit(0);
    }
  }
}
execFileSync(process.execPath, [join(root, "scripts", "build-native.mjs")], { stdio: "inherit" });
