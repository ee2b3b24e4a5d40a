"""Reads a GGUF file with the `gguf` package from PyPI (an independent reader) and prints its
keys, tensor names, shapes, types and the first values of each tensor as JSON."""
import json
import sys

import gguf

reader = gguf.GGUFReader(sys.argv[1])
fields = {}
for name, field in reader.fields.items():
    if name.startswith("GGUF."):
        continue
    try:
        value = field.contents()
    except Exception:  # noqa: BLE001 - older gguf versions lack contents()
        value = None
    if isinstance(value, list) and len(value) > 16:
        value = {"length": len(value), "head": value[:4]}
    fields[name] = value
tensors = [
    {"name": t.name, "shape": [int(x) for x in t.shape], "type": t.tensor_type.name, "head": [float(x) for x in t.data[:4]],
     "sumsq": float((t.data.astype("float64") ** 2).sum())}
    for t in reader.tensors
]
print(json.dumps({"fields": fields, "tensors": tensors}))
