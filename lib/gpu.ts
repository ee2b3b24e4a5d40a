// The GPU a model runs on, chosen at run time. The addon ships with llama.cpp's CPU backends only;
// a GPU backend is a library of node-llama-cpp's platform package of the same release, which the
// user installs beside us (`@node-llama-cpp/linux-x64-cuda@3.21.1`, `...-vulkan`; Metal is built
// into the macOS arm64 libraries), found by path and loaded into the process once.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { getBinding, packageRoot, type NativeDevice } from "./binding.js";
import { LlamaError } from "./errors.js";
import { log } from "./log.js";

export type GpuKind = "cuda" | "vulkan" | "metal";
/** `"auto"`: the first GPU backend that loads and sees a device, else the CPU; `false`: the CPU only. */
export type GpuChoice = "auto" | GpuKind | false;
export const GPU_KINDS: readonly GpuKind[] = ["cuda", "vulkan", "metal"];

/** A device of a loaded ggml backend. */
export interface DeviceInfo {
  /** ggml's device name, e.g. `CUDA0`, `Vulkan0`, `MTL0`. */
  name: string;
  /** What the driver calls it, e.g. `NVIDIA H200`. */
  description: string;
  /** The backend's registry name: `CUDA`, `Vulkan`, `MTL`, ... */
  backend: string;
  type: "cpu" | "gpu" | "other";
}

/** The devices a model was placed on. @internal */
export interface GpuSelection {
  /** `"cpu"` when no GPU is used. */
  backend: GpuKind | "cpu";
  /** The GPU devices given to llama.cpp (empty for the CPU). */
  devices: NativeDevice[];
}

/** INFERALIGNER_GPU: auto (default), cuda, vulkan, metal, or false/cpu/0 for the CPU. @internal */
export function gpuFromEnvironment(): GpuChoice {
  const value = (process.env.INFERALIGNER_GPU ?? "auto").trim().toLowerCase();
  if (value === "" || value === "auto") return "auto";
  if (value === "false" || value === "cpu" || value === "0" || value === "off") return false;
  if ((GPU_KINDS as readonly string[]).includes(value)) return value as GpuKind;
  throw new TypeError(`INFERALIGNER_GPU must be auto, cuda, vulkan, metal or false, not ${JSON.stringify(process.env.INFERALIGNER_GPU)}`);
}

const require = createRequire(import.meta.url);
const pinned = (JSON.parse(readFileSync(join(packageRoot, "vendor", "llama.cpp.json"), "utf8")) as { nodeLlamaCpp: string }).nodeLlamaCpp;

function packageBase(): string {
  const os = process.platform === "darwin" ? "mac" : process.platform === "win32" ? "win" : process.platform;
  return `${os}-${process.arch}`;
}

function libraryName(kind: GpuKind): string {
  return process.platform === "win32" ? `ggml-${kind}.dll` : process.platform === "darwin" ? `libggml-${kind}.dylib` : `libggml-${kind}.so`;
}

/** node-llama-cpp's packages that carry a backend, best first (CUDA 13, then its CUDA 12 fallback). */
function packagesOf(kind: GpuKind): string[] {
  const base = packageBase();
  if (kind === "cuda") return [`@node-llama-cpp/${base}-cuda`, `@node-llama-cpp/${base}-cuda-ext`];
  if (kind === "vulkan") return [`@node-llama-cpp/${base}-vulkan`];
  return [];
}

function packageFolder(name: string): string | undefined {
  for (const from of [packageRoot, process.cwd()]) {
    try {
      return dirname(require.resolve(`${name}/package.json`, { paths: [from] }));
    } catch {
      // Their "exports" hide package.json: walk up node_modules folders.
      for (let dir = from; ; dir = dirname(dir)) {
        const candidate = join(dir, "node_modules", name);
        if (existsSync(join(candidate, "package.json"))) return candidate;
        if (dirname(dir) === dir) break;
      }
    }
  }
  return undefined;
}

/** Backend library files in a package: bins/<variant>/<lib>, and bins/<variant>/fallback/<lib>. */
function libraryFiles(pkg: string, kind: GpuKind): string[] {
  const bins = join(pkg, "bins");
  if (!existsSync(bins)) return [];
  const files: string[] = [];
  for (const variant of readdirSync(bins)) {
    for (const sub of ["", "fallback"]) {
      const file = join(bins, variant, sub, libraryName(kind));
      if (existsSync(file)) files.push(file);
    }
  }
  return files;
}

/** ggml's registry names of each kind's backend (Metal registers as "MTL"). */
const REGISTRY_NAMES: Record<GpuKind, readonly string[]> = { cuda: ["cuda"], vulkan: ["vulkan"], metal: ["mtl", "metal"] };

function gpusOf(devices: NativeDevice[], kind: GpuKind): NativeDevice[] {
  return devices.filter((d) => d.type === "gpu" && REGISTRY_NAMES[kind].includes(d.backend.toLowerCase()));
}

/** Loads the backend of one kind if it is not in the process yet; its devices, or why there are none. */
function tryKind(kind: GpuKind): { devices: NativeDevice[]; reasons: string[]; installed: boolean } {
  const binding = getBinding();
  let devices = gpusOf(binding.devices, kind);
  if (devices.length > 0) return { devices, reasons: [], installed: true };
  const reasons: string[] = [];
  let installed = false;
  // A source build links ggml statically: a backend library loaded now would bring a second copy
  // of ggml-base into the process, with registries of its own.
  if (binding.native.systemInfo().buildMode === "source") {
    reasons.push(`this addon was built from source with llama.cpp linked in (CPU only), so it cannot load GPU backends at run time; use the prebuilt addon`);
    return { devices, reasons, installed: true };
  }
  for (const name of packagesOf(kind)) {
    const pkg = packageFolder(name);
    if (!pkg) continue;
    installed = true;
    const version = (JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")) as { version: string }).version;
    if (version !== pinned) {
      reasons.push(`${name}@${version} is installed, but this build of llama.cpp needs ${name}@${pinned}`);
      continue;
    }
    for (const file of libraryFiles(pkg, kind)) {
      const result = binding.native.loadBackendFile(file);
      binding.devices = result.devices;
      devices = gpusOf(result.devices, kind);
      if (devices.length > 0) return { devices, reasons, installed };
      reasons.push(result.error ? `${file}: ${result.error}` : `${file} loaded, but it sees no ${kind} device`);
    }
  }
  if (!installed) {
    const packages = packagesOf(kind);
    reasons.push(
      packages.length > 0
        ? `${packages[0]}@${pinned} is not installed (npm install ${packages[0]}@${pinned})`
        : `this build for ${process.platform}-${process.arch} has no ${kind} backend`,
    );
  }
  return { devices, reasons, installed };
}

/** node-llama-cpp's order of preference: Metal on macOS, else CUDA, then Vulkan. */
function autoOrder(): GpuKind[] {
  return process.platform === "darwin" ? ["metal"] : ["cuda", "vulkan"];
}

/** Picks the devices for `LlamaModel.load` (see GpuChoice). */
export function selectGpu(choice: GpuChoice): GpuSelection {
  if (choice === false) return { backend: "cpu", devices: [] };
  if (choice !== "auto") {
    if (!GPU_KINDS.includes(choice)) throw new TypeError(`gpu must be "auto", "cuda", "vulkan", "metal" or false, not ${JSON.stringify(choice)}`);
    const tried = tryKind(choice);
    if (tried.devices.length === 0) throw new LlamaError(`no ${choice} GPU can be used: ${tried.reasons.join("; ")}`, "ERR_GPU_UNAVAILABLE");
    return { backend: choice, devices: tried.devices };
  }
  autoSelection ??= selectAuto();
  return { backend: autoSelection.backend, devices: [...autoSelection.devices] };
}

// What "auto" found, once per process: the backends that load do not change, and the warning
// about an unusable GPU package is said once, not at every model load.
let autoSelection: GpuSelection | undefined;

function selectAuto(): GpuSelection {
  const failures: string[] = [];
  for (const kind of autoOrder()) {
    const tried = tryKind(kind);
    if (tried.devices.length > 0) return { backend: kind, devices: tried.devices };
    if (tried.installed) failures.push(`${kind}: ${tried.reasons.join("; ")}`);
  }
  // A CPU-only install is the common case and says nothing; an installed GPU package that cannot
  // be used is worth a warning.
  if (failures.length > 0) log("warn", `gpu "auto": running on the CPU, no GPU backend could be used (${failures.join(" | ")})`);
  else log("info", `gpu "auto": no GPU backend package is installed; running on the CPU`);
  return { backend: "cpu", devices: [] };
}
