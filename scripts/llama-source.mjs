// Locates the pinned llama.cpp release: the source from node-llama-cpp's git bundle, unpacked
// into vendor/llama.cpp (ignored by git), and the prebuilt library folders of its platform packages.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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

/** node-llama-cpp's name for this platform in its package names: mac-arm64, win-x64, linux-x64, ... */
export function platformPackageBase(platform = process.platform, arch = process.arch) {
  const os = platform === "darwin" ? "mac" : platform === "win32" ? "win" : platform;
  return `${os}-${arch}`;
}

/** The variant whose libraries a prebuild ships: the CPU package (on Apple silicon Metal is built in). */
export function shippedVariant(platform = process.platform, arch = process.arch) {
  const base = platformPackageBase(platform, arch);
  return platform === "darwin" && arch === "arm64" ? `${base}-metal` : base;
}

/** Folder of an installed @node-llama-cpp/<variant> package's libraries, or undefined. */
export function variantLibraryDir(variant, from = root) {
  let pkg = packageDir(`@node-llama-cpp/${variant}`, from);
  if (!pkg) {
    // Installed with node-llama-cpp (its optional dependencies) rather than beside us.
    const nlc = packageDir("node-llama-cpp", from);
    if (nlc) pkg = packageDir(`@node-llama-cpp/${variant}`, nlc);
  }
  if (!pkg || !existsSync(join(pkg, "bins"))) return undefined;
  for (const sub of readdirSync(join(pkg, "bins"))) {
    const dir = join(pkg, "bins", sub);
    if (readdirSync(dir).some((f) => /^libllama\b|^llama\.dll$/.test(f))) return dir;
  }
  return undefined;
}

/**
 * Prebuilt library folders that can serve this platform, best first: a GPU variant where its
 * package is installed and the machine has that GPU, the CPU package last. Used by the cmake-js
 * build (scripts/build-native.mjs); prebuilds ship the CPU variant only and find GPU backends at
 * run time.
 */
export function prebuiltCandidates({ gpu = process.env.INFERALIGNER_GPU ?? "auto" } = {}) {
  const base = platformPackageBase();
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
  const found = [];
  for (const variant of variants) {
    const dir = variantLibraryDir(variant);
    if (dir) found.push({ variant, dir });
  }
  return found;
}

/**
 * The public headers of the pinned llama.cpp (include/, ggml/include/) and its licence, copied to
 * vendor/include/ (ignored by git, shipped in the package): binding.gyp compiles the addon against
 * them and the prebuilt libraries, so a build from the package needs neither git nor the source.
 */
export const headersDir = join(root, "vendor", "include");

export function ensureLlamaHeaders() {
  const stamp = join(headersDir, "llama.cpp.commit");
  if (existsSync(stamp) && readFileSync(stamp, "utf8").trim() === pin.commit) return headersDir;
  const src = ensureLlamaSource();
  rmSync(headersDir, { recursive: true, force: true });
  mkdirSync(headersDir, { recursive: true });
  for (const dir of [join(src, "include"), join(src, "ggml", "include")]) {
    for (const file of readdirSync(dir)) if (file.endsWith(".h")) copyFileSync(join(dir, file), join(headersDir, file));
  }
  copyFileSync(join(src, "LICENSE"), join(headersDir, "LICENSE.llama.cpp"));
  writeFileSync(stamp, pin.commit + "\n");
  return headersDir;
}

/**
 * The CPU libraries of the prebuilt release that the addon links and ships beside itself:
 * libllama, libggml, libggml-base and every libggml-cpu-<microarchitecture> variant (ggml picks
 * the best one at run time). GPU backends are not among them: they load at run time from the GPU
 * package the user installs (lib/gpu.ts).
 */
export function cpuLibraries(dir) {
  return readdirSync(dir)
    .filter((f) => /^(lib)?(llama|ggml|ggml-base|ggml-cpu[\w-]*)(\.v[\d.]+)?\.(so|dylib|dll|lib)$/.test(f))
    .sort();
}
