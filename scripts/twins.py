#!/usr/bin/env python3
"""Unaligned twins of an aligned GGUF model, the paper's cross-model targets (method.md, "Unaligned twins").

  python3 scripts/twins.py abliterate --model aligned.gguf --vectors aligned-vectors.gguf --layer 14 --out twin.gguf
  python3 scripts/twins.py annotate --model tuned.gguf --source aligned.gguf --kind finetuned --recipe JSON --out twin.gguf
  python3 scripts/twins.py digest --model twin.gguf

abliterate: weight orthogonalisation against the aligned model's own refusal direction r (the unit
safety related vector of block --layer, read from an inferaligner vector file made from the
built-in *training* prompts). Every matrix that writes to the residual stream loses its component
along r, so no block can write r any more, and neither can the embeddings:
  - blk.*.attn_output.weight and blk.*.ffn_down.weight (rows = residual dimensions): W <- W - r (r^T W)
  - token_embd.weight (one row per token):                                          E <- E - (E r) r^T
annotate: a model trained elsewhere (the fine-tuned twin: scripts/finetune-twin.mjs) keeps its
weights and gets the source model's keys (llama-finetune writes its own: the training context as
context length, no chat template) and its recipe.

digest: the sha256 of a model's weights alone (every tensor's name, type, shape and bytes, in file
order), so that two makings of a twin can be compared whatever their metadata says.

The changed tensors are dequantised with the gguf package, changed in float32 and written as Q8_0;
every other tensor and key is copied unchanged. The recipe is recorded in the twin's metadata
(inferaligner.twin.*), with the sha256 of the source model and of the vector file.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
    from gguf.quants import dequantize, quantize
except ImportError:  # pragma: no cover
    sys.exit("the gguf package is needed: python3 -m pip install gguf")

RESIDUAL_WRITERS = ("attn_output.weight", "ffn_down.weight")
EMBEDDINGS = "token_embd.weight"


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def field_value(field):
    return field.contents()


def read_direction(vectors_path, layer):
    """The unit direction of block `layer` from an inferaligner vector file (direction.N for N >= 1)."""
    reader = GGUFReader(vectors_path)
    arch = reader.get_field("general.architecture")
    if arch is None or field_value(arch) != "controlvector":
        raise SystemExit(f"{vectors_path} is not a vector file (general.architecture != controlvector)")
    if layer == 0:
        d = np.asarray(field_value(reader.get_field("inferaligner.direction.0")), dtype=np.float64)
    else:
        tensor = next((t for t in reader.tensors if t.name == f"direction.{layer}"), None)
        if tensor is None:
            raise SystemExit(f"{vectors_path} has no direction.{layer}")
        d = np.asarray(tensor.data, dtype=np.float64).reshape(-1)
    n = np.linalg.norm(d)
    if not np.isfinite(n) or n == 0:
        raise SystemExit(f"direction of block {layer} is not usable (norm {n})")
    return d / n


def orthogonalised(name, weights, r):
    """weights as numpy reads GGUF: (rows, n_embd) for the embeddings, (n_embd, n_in) for the writers."""
    w = weights.astype(np.float64)
    if name == EMBEDDINGS:
        return (w - np.outer(w @ r, r)).astype(np.float32)
    return (w - np.outer(r, r @ w)).astype(np.float32)


def copy_metadata(reader, writer, extra):
    for field in reader.fields.values():
        # The writer writes the architecture and the GGUF header itself.
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value = extra.pop(field.name, None)
        kind = field.types[0]
        sub = field.types[-1] if kind == GGUFValueType.ARRAY else None
        if value is None:
            writer.add_key_value(field.name, field_value(field), kind, sub_type=sub)
        else:
            writer.add_key_value(field.name, value, GGUFValueType.STRING if isinstance(value, str) else kind)
    for key, value in extra.items():
        writer.add_key_value(key, value, GGUFValueType.INT32 if isinstance(value, int) else GGUFValueType.STRING)


def abliterate(args):
    started = time.time()
    r = read_direction(args.vectors, args.layer)
    reader = GGUFReader(args.model)
    arch = field_value(reader.get_field(gguf.Keys.General.ARCHITECTURE))
    width = int(field_value(reader.get_field(f"{arch}.embedding_length")))
    if r.shape[0] != width:
        raise SystemExit(f"the direction has {r.shape[0]} dimensions; the model's width is {width}")
    name_field = reader.get_field(gguf.Keys.General.NAME)
    base_name = field_value(name_field) if name_field is not None else "model"
    recipe = {
        "method": "abliteration (weight orthogonalisation against the refusal direction)",
        "direction": f"unit safety related vector of block {args.layer}",
        "directionFrom": "built-in training prompt sets (inferaligner extract)",
        "tensors": f"blk.*.{RESIDUAL_WRITERS[0]}, blk.*.{RESIDUAL_WRITERS[1]}: W - r r^T W; {EMBEDDINGS}: E - (E r) r^T",
        "quantization": "changed tensors Q8_0, others copied",
    }
    extra = {
        gguf.Keys.General.NAME: f"{base_name} (abliterated twin, block {args.layer})",
        "inferaligner.twin.kind": "abliterated",
        "inferaligner.twin.recipe": json.dumps(recipe),
        "inferaligner.twin.layer": args.layer,
        "inferaligner.twin.source_sha256": sha256_file(args.model),
        "inferaligner.twin.vectors_sha256": sha256_file(args.vectors),
        "inferaligner.twin.script": "scripts/twins.py abliterate",
    }
    writer = GGUFWriter(args.out + ".partial", arch)
    copy_metadata(reader, writer, extra)
    changed = 0
    for tensor in reader.tensors:
        target = tensor.name == EMBEDDINGS or tensor.name.endswith(RESIDUAL_WRITERS)
        if not target:
            writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
            continue
        weights = dequantize(tensor.data, tensor.tensor_type)
        if not np.all(np.isfinite(weights)):
            raise SystemExit(f"{tensor.name} has values that are not finite")
        writer.add_tensor(tensor.name, quantize(orthogonalised(tensor.name, weights, r), GGMLQuantizationType.Q8_0), raw_dtype=GGMLQuantizationType.Q8_0)
        changed += 1
    if changed == 0:
        raise SystemExit("no tensor to change: the model has no attn_output/ffn_down/token_embd tensors")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(args.out + ".partial", args.out)
    print(json.dumps({"out": args.out, "changedTensors": changed, "layer": args.layer, "seconds": round(time.time() - started, 1)}))


def annotate(args):
    """The weights of --model (a trained copy of --source), every key of --source, and the recipe.

    llama-finetune's saver writes its own metadata: the training context as the model's context
    length, no chat template, empty arrays for keys the architecture does not use. The weights are
    all that training changed, so the keys come from the source; only the file type is the model's.
    """
    model = GGUFReader(args.model)
    source = GGUFReader(args.source)
    arch = field_value(model.get_field(gguf.Keys.General.ARCHITECTURE))
    source_arch = field_value(source.get_field(gguf.Keys.General.ARCHITECTURE))
    if arch != source_arch:
        raise SystemExit(f"{args.model} is {arch}, its source {args.source} is {source_arch}")
    shapes = lambda reader: {t.name: tuple(int(n) for n in t.shape) for t in reader.tensors}
    if shapes(model) != shapes(source):
        raise SystemExit(f"{args.model} does not hold the tensors of {args.source} (names or shapes differ)")
    name_field = source.get_field(gguf.Keys.General.NAME)
    base_name = field_value(name_field) if name_field is not None else "model"
    extra = {
        gguf.Keys.General.NAME: f"{base_name} ({args.kind} twin)",
        "inferaligner.twin.kind": args.kind,
        "inferaligner.twin.recipe": args.recipe,
        "inferaligner.twin.recipe_version": args.recipe_version,
        "inferaligner.twin.source_sha256": sha256_file(args.source),
        "inferaligner.twin.script": "scripts/finetune-twin.mjs, scripts/twins.py annotate",
    }
    file_type = model.get_field(gguf.Keys.General.FILE_TYPE)
    if file_type is not None:
        extra[gguf.Keys.General.FILE_TYPE] = int(field_value(file_type))
    writer = GGUFWriter(args.out, arch)
    copy_metadata(source, writer, extra)
    for tensor in model.tensors:
        writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(json.dumps({"out": args.out, "kind": args.kind, "tensors": len(model.tensors)}))


def weights_digest(path):
    """sha256 over the tensors only: a twin made again is the same model when this matches."""
    h = hashlib.sha256()
    for tensor in GGUFReader(path).tensors:
        shape = ",".join(str(int(n)) for n in tensor.shape)
        h.update(f"{tensor.name}:{int(tensor.tensor_type)}:{shape}:".encode())
        h.update(memoryview(np.ascontiguousarray(tensor.data)).cast("B"))
    return h.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("abliterate")
    a.add_argument("--model", required=True)
    a.add_argument("--vectors", required=True)
    a.add_argument("--layer", type=int, required=True)
    a.add_argument("--out", required=True)
    n = sub.add_parser("annotate")
    n.add_argument("--model", required=True)
    n.add_argument("--source", required=True)
    n.add_argument("--kind", required=True)
    n.add_argument("--recipe", required=True)
    n.add_argument("--recipe-version", type=int, required=True)
    n.add_argument("--out", required=True)
    d = sub.add_parser("digest")
    d.add_argument("--model", required=True)
    args = parser.parse_args()
    if args.command == "abliterate":
        abliterate(args)
    elif args.command == "annotate":
        annotate(args)
    elif args.command == "digest":
        print(weights_digest(args.model))


if __name__ == "__main__":
    main()
