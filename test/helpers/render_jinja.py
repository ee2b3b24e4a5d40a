"""Renders a chat template with Python's Jinja2, configured as Hugging Face transformers renders
chat templates (sandboxed, trim_blocks, lstrip_blocks, loop controls, raise_exception).
Input on stdin: {"template", "messages", "add_generation_prompt", "bos_token", "eos_token"}."""
import json
import sys

from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise ValueError(message)


job = json.load(sys.stdin)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.globals["raise_exception"] = raise_exception
template = env.from_string(job["template"])
sys.stdout.write(template.render(
    messages=job["messages"],
    add_generation_prompt=job["add_generation_prompt"],
    bos_token=job["bos_token"],
    eos_token=job["eos_token"],
))
