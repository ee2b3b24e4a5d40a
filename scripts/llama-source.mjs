// Locates the pinned llama.cpp release: the source from node-llama-cpp's git bundle, unpacked
// into vendor/llama.cpp (ignored by git), and the prebuilt library folders of its platform packages.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const pin = JSON.parse(readFileSync(join(root, "vendor", "llama.cpp.json"), "utf8"));
export const sourceDir = join(root, "vendor", "llama.cpp");

const require = createRequire(import.meta.url);

/**
 * Folder of an installed package, found the way Node resolves it from `from`. Packages whose
 * "exports" hide package.json are found by walking node_modules folders up from `from`.
 */
export function packageDir(name, from = root) {
  try {
    return dirname(require.resolve(`${name}/package.json`, { paths: [from] }));
  } catch {
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) return candidate;
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** Folder of the installed node-llama-cpp package, checked against the pinned version. */
export function nodeLlamaCppDir() {
  const dir = packageDir("node-llama-cpp");
  if (!dir) {
    throw new Error("node-llama-cpp is not installed: run `npm install` first (it provides llama.cpp's source and prebuilt libraries)");
  }
  const pkgJson = join(dir, "package.json");
  const { version } = JSON.parse(readFileSync(pkgJson, "utf8"));
  if (version !== pin.nodeLlamaCpp) {
    throw new Error(`node-llama-cpp ${version} is installed but vendor/llama.cpp.json pins ${pin.nodeLlamaCpp}`);
  }
  return dirname(pkgJson);
}

/** Unpacks the pinned llama.cpp source from the bundle, once; returns its folder. */
export function ensureLlamaSource() {
  const stamp = join(sourceDir, ".git");
  if (existsSync(stamp)) {
    const head = execFileSync("git", ["-C", sourceDir, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    if (head === pin.commit) return sourceDir;
    rmSync(sourceDir, { recursive: true, force: true });
  }
  const bundle = join(nodeLlamaCppDir(), "llama", "gitRelease.bundle");
  if (!existsSync(bundle)) throw new Error(`llama.cpp bundle not found at ${bundle}`);
  console.error(`[inferaligner] unpacking llama.cpp ${pin.tag} from ${bundle}`);
  execFileSync("git", ["clone", "--quiet", bundle, sourceDir], { stdio: "inherit" });
  execFileSync("git", ["-C", sourceDir, "-c", "advice.detachedHead=false", "checkout", "--quiet", pin.commit], { stdio: "inherit" });
  return sourceDir;
}

/**
 * Prebuilt library folders that can serve this platform, best first: a GPU variant where its
 * package is installed and the machine has that GPU, the CPU package last.
 */
export function prebuiltCandidates({ gpu = process.env.INFERALIGNER_GPU ?? "auto" } = {}) {
  const base = `${process.platform}-${process.arch}`;
  const variants = [];
  const hasNvidia = () => {
    try {
      execFileSync("nvidia-smi", ["-L"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (gpu === "cuda" || (gpu === "auto" && process.platform !== "darwin" && hasNvidia())) variants.push(`${base}-cuda`);
  if (gpu === "vulkan") variants.push(`${base}-vulkan`);
  if (process.platform === "darwin" && process.arch === "arm64" && gpu !== "cpu") variants.push(`${base}-metal`);
  variants.push(base);
  const nlc = nodeLlamaCppDir();
  const found = [];
  for (const variant of variants) {
    const pkg = packageDir(`@node-llama-cpp/${variant}`, nlc);
    if (!pkg) continue;
    const bins = join(pkg, "bins");
    if (!existsSync(bins)) continue;
    for (const sub of readdirSync(bins)) {
      const dir = join(bins, sub);
      if (readdirSync(dir).some((f) => /^libllama\b|^llama\.dll$/.test(f))) found.push({ variant, dir });
    }
  }
  return found;
}
