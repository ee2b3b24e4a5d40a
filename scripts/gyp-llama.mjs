#!/usr/bin/env node
// What binding.gyp asks about llama.cpp (it runs this through `<!(...)`, so it prints only answers):
//   include   the folder of llama.cpp's headers (vendor/include, copied from the pinned bundle once)
//   link      the libraries the addon links: libllama, libggml, libggml-base of the CPU package of
//             the pinned release (@node-llama-cpp/<platform>), full paths
import { join } from "node:path";
import { cpuLibraries, ensureLlamaHeaders, shippedVariant, variantLibraryDir } from "./llama-source.mjs";

const what = process.argv[2];
if (what === "include") {
  console.log(ensureLlamaHeaders());
} else if (what === "link") {
  const variant = shippedVariant();
  const dir = variantLibraryDir(variant);
  if (!dir) throw new Error(`@node-llama-cpp/${variant} is not installed: it holds the prebuilt llama.cpp libraries the addon links`);
  const link = cpuLibraries(dir).filter((f) => /^(lib)?(llama|ggml|ggml-base)(\.[\w.]+)?\.(so|dylib|lib)$/.test(f) && !/\.dll$/.test(f));
  console.log(link.map((f) => join(dir, f)).join(" "));
} else {
  throw new Error("usage: node scripts/gyp-llama.mjs include|link");
}
