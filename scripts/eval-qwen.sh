#!/usr/bin/env bash
# The README's evaluation of Qwen2.5-Coder-0.5B-Instruct and its unaligned twins (npm run eval:qwen).
#   TARGET=aligned      (default) the aligned model: baseline, self mode, refuse mode
#   TARGET=abliterated  its abliterated twin (npm run targets): baseline, cross-model (the aligned
#                       model's vectors steer), self mode, refuse mode
#   TARGET=finetuned    its fine-tuned twin (npm run targets -- --finetuned), the same four
# Steps, each skipped when its output exists (rerunning resumes):
#   1. the target's vectors from the calibration prompts (built-in or data sets: GATE_SETS), validated on
#      their validation split;
#   2. calibrate: steering strength and range on the validation prompts only (most gate-open
#      harmful prompts refused with at most 10% degenerate steered answers), saved into the steer
#      file (for a twin: a copy of the aligned model's vector file, so each pair has its own);
#   3. eval on data that played no part in 1-2: AdvBench rows not in harmful_train, 25 short
#      jailbreak templates x 20 questions, the 200 harmless_val prompts after the first 39, XSTest's
#      safe prompts, HumanEval; GCG keyword judge.
# Environment: GATE_SETS (builtin, the default: the target's vectors from the package's built-in
# prompt sets with their validation split, as `extract` without sets makes them; data: from
# harmful_train + 260 harmless_train, validated on harmful_val + 39 harmless_val; both: the two
# joined, calibration and validation),
# JAILBREAK_GATE (attack, the default since it met every aligned-model target at full size: with an
# extra gate that separates any request inside a jailbreak template from bare harmless requests and
# the built-in wrapped-material prompts (code stubs, passages, data), read at the main gate's block;
# 0: the vectors.gguf gate alone; 1: with an extra gate that separates harmful from harmless
# requests inside jailbreak templates), OUT (results/eval-qwen-$TARGET-$GATE_SETS,
# -jb or -attack added with the jailbreak gate: tracked in git, so a later session resumes the run),
# DATA (../shared/data), THREADS (2), MAX_TOKENS (48), LIMIT (every item; a number limits each set, for a quick look), HARMLESS_LIMIT (200),
# UTILITY (1: HumanEval too; 0: leave the code tasks out of this sitting: they are the slowest items),
# ALPHAS and RANGES (calibrate's sweep).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${TARGET:-aligned}
DATA=${DATA:-../shared/data}
GATE_SETS=${GATE_SETS:-builtin}
JAILBREAK_GATE=${JAILBREAK_GATE:-attack}
case "$GATE_SETS" in data | builtin | both) ;; *) echo "GATE_SETS is data, builtin or both" >&2; exit 2 ;; esac
# One folder per gate choice: results/eval-qwen-<target>-<sets>, with -jb or -attack for the jailbreak gate.
case "$JAILBREAK_GATE" in 0) JB_SUFFIX="" ;; 1) JB_SUFFIX=-jb ;; attack) JB_SUFFIX=-attack ;; *) echo "JAILBREAK_GATE is 0, 1 or attack" >&2; exit 2 ;; esac
OUT=${OUT:-results/eval-qwen-$TARGET-$GATE_SETS$JB_SUFFIX}
THREADS=${THREADS:-2}
MAX_TOKENS=${MAX_TOKENS:-48}
CLI="node dist/cli/index.js"
located=$(python3 scripts/models.py install)
field() { echo "$located" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$1') or '')"; }
ALIGNED=$(field qwen2)
HUMANEVAL=$(field humaneval)
[ -n "$ALIGNED" ] || { echo "Qwen2.5-Coder-0.5B-Instruct is not installed: python3 scripts/models.py install" >&2; exit 1; }
case "$TARGET" in
  aligned) MODEL=$ALIGNED ;;
  abliterated) MODEL=$(npm run --silent targets -- --threads "$THREADS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["abliterated"])') ;;
  finetuned) MODEL=$(npm run --silent targets -- --finetuned --threads "$THREADS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["finetuned"])') ;;
  *) echo "TARGET is aligned, abliterated or finetuned" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
# A folder holds the run of one model: its steps are skipped when their output exists, so a twin
# made again (another recipe) must not inherit the vectors and calibration of the one before. The
# model is known by its weights (scripts/twins.py digest), so a twin made again with the same
# weights resumes the run; folders from before the digest are known by the file's sha256.
MODEL_WEIGHTS=$(python3 scripts/twins.py digest --model "$MODEL")
if [ -f "$OUT/model-weights.sha256" ]; then
  if [ "$(cat "$OUT/model-weights.sha256")" != "$MODEL_WEIGHTS" ]; then
    echo "$OUT holds the run of another model (weights sha256 $(cat "$OUT/model-weights.sha256"), this one $MODEL_WEIGHTS): move it aside or set OUT" >&2
    exit 1
  fi
elif [ -f "$OUT/model.sha256" ] && [ "$(cat "$OUT/model.sha256")" != "$(sha256sum "$MODEL" | cut -d" " -f1)" ]; then
  echo "$OUT holds the run of another model (sha256 $(cat "$OUT/model.sha256")): move it aside or set OUT" >&2
  exit 1
fi
echo "$MODEL_WEIGHTS" > "$OUT/model-weights.sha256"

# Validation prompts only: harmful_val and the first 39 harmless_val (the extraction's splits).
node -e 'const fs=require("fs");const r=JSON.parse(fs.readFileSync(process.argv[1],"utf8")).slice(0,39);fs.writeFileSync(process.argv[2],JSON.stringify(r))' \
  "$DATA/harmless_val.json" "$OUT/val-harmless-39.json"
extract() { # model out
  if [ "$GATE_SETS" = builtin ]; then
    [ -f "$2" ] || $CLI extract --model "$1" --threads "$THREADS" --out "$2" | tee "$2.txt"
    return
  fi
  if [ "$GATE_SETS" = both ]; then
    node -e 'const fs=require("fs");const r=JSON.parse(fs.readFileSync(process.argv[1],"utf8")).slice(0,260);fs.writeFileSync(process.argv[2],JSON.stringify(r))' \
      "$DATA/harmless_train.json" "$OUT/harmless-train-260.json"
    [ -f "$2" ] || $CLI extract --model "$1" --harmful builtin --harmful "$DATA/harmful_train.json" \
      --harmless builtin --harmless "$OUT/harmless-train-260.json" \
      --val-harmful builtin --val-harmful "$DATA/harmful_val.json" --val-harmless builtin --val-harmless "$OUT/val-harmless-39.json" \
      --threads "$THREADS" --out "$2" | tee "$2.txt"
    return
  fi
  [ -f "$2" ] || $CLI extract --model "$1" --harmful "$DATA/harmful_train.json" --harmless "$DATA/harmless_train.json" \
    --val-harmful "$DATA/harmful_val.json" --val-harmless "$DATA/harmless_val.json" --limit 260 --val-limit 39 \
    --threads "$THREADS" --out "$2" | tee "$2.txt"
}
extract "$MODEL" "$OUT/vectors.gguf"

# The jailbreak gate: a second vector file from prompts inside jailbreak templates. GPTFuzz's 77 full
# templates, less the ones that match the eval's 25 short templates (first 300 characters more than
# half alike: 5 of them), split 48 for calibration and the rest for validation; filled with
# harmful_train/harmless_train and harmful_val/harmless_val (extract --templates). attack: every
# filled template against the bare harmless prompts and the built-in wrapped-material prompts
# (extract --template-gate attack), so that the gate opens on the jailbreak itself, whatever request
# it wraps, and not on a function stub to complete. Used as an --extra-gate: the gate
# opens when either file's gate opens.
if [ "$JAILBREAK_GATE" != 0 ] && [ ! -f "$OUT/templates-validation.json" ]; then
  python3 - "$DATA" "$OUT" <<'PY'
import csv, difflib, json, sys
data, out = sys.argv[1:]
short = [r["text"] for r in csv.DictReader(open(f"{data}/seed_short_25.csv", encoding="utf-8"))]
full = [r["text"] for r in csv.DictReader(open(f"{data}/GPTFuzzer.csv", encoding="utf-8"))]
kept = [t for t in full if max(difflib.SequenceMatcher(None, t[:300], s[:300]).ratio() for s in short) <= 0.5]
json.dump(kept[:48], open(f"{out}/templates-calibration.json", "w"))
json.dump(kept[48:], open(f"{out}/templates-validation.json", "w"))
print(f"jailbreak templates: {len(full)} in GPTFuzzer.csv, {len(full) - len(kept)} like the eval's, {len(kept[:48])} calibration, {len(kept[48:])} validation")
PY
fi
extract_templated() { # model out [extract flags]
  [ -f "$2" ] || $CLI extract --model "$1" --harmful "$DATA/harmful_train.json" --harmless "$DATA/harmless_train.json" \
    --val-harmful "$DATA/harmful_val.json" --val-harmless "$DATA/harmless_val.json" --limit 260 --val-limit 39 \
    --templates "$OUT/templates-calibration.json" --val-templates "$OUT/templates-validation.json" \
    --threads "$THREADS" --sequences 8 --out "$2" "${@:3}" | tee "$2.txt"
}
GATE_ARGS=()
if [ "$JAILBREAK_GATE" = 1 ]; then
  extract_templated "$MODEL" "$OUT/jailbreak-vectors.gguf"
  GATE_ARGS=(--extra-gate "$OUT/jailbreak-vectors.gguf")
elif [ "$JAILBREAK_GATE" = attack ]; then
  MAIN_GATE_LAYER=$($CLI inspect "$OUT/vectors.gguf" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["suggested"]["gateLayer"])')
  extract_templated "$MODEL" "$OUT/jailbreak-vectors.gguf" --template-gate attack --gate-layer "$MAIN_GATE_LAYER"
  GATE_ARGS=(--extra-gate "$OUT/jailbreak-vectors.gguf")
fi
STEER_ARGS=()
MODES=self,refuse
if [ "$TARGET" != aligned ]; then
  extract "$ALIGNED" "$OUT/aligned-vectors.gguf"
  STEER_ARGS=(--steer "$OUT/aligned-vectors.gguf")
  MODES=steer,self,refuse
fi

# Calibration on the validation prompts only: harmful_val and the first 39 harmless_val.
if [ ! -f "$OUT/calibrate.json" ]; then
  $CLI calibrate --model "$MODEL" --gate "$OUT/vectors.gguf" "${GATE_ARGS[@]}" "${STEER_ARGS[@]}" --val-harmful "$DATA/harmful_val.json" \
    --val-harmless "$OUT/val-harmless-39.json" --alphas "${ALPHAS:-0.05,0.075}" --layer-ranges "${RANGES:-10-23,12-23}" \
    --max-tokens "$MAX_TOKENS" --refusal-markers "$DATA/gcg_evaluate_test_prefixes.json" --threads "$THREADS" --save --json > "$OUT/calibrate.json.partial"
  mv "$OUT/calibrate.json.partial" "$OUT/calibrate.json"
fi

LIMIT_ARGS=()
[ -n "${LIMIT:-}" ] && LIMIT_ARGS=(--limit "$LIMIT")
UTILITY_ARGS=()
[ -n "$HUMANEVAL" ] && [ "${UTILITY:-1}" = 1 ] && UTILITY_ARGS=(--utility "$HUMANEVAL")
$CLI eval --model "$MODEL" --gate "$OUT/vectors.gguf" "${GATE_ARGS[@]}" "${STEER_ARGS[@]}" --modes "$MODES" \
  --harmful "$DATA/advbench.csv" --exclude "$DATA/harmful_train.json" \
  --jailbreak-templates "$DATA/seed_short_25.csv" --jailbreak-questions "$DATA/question_list.csv" --jailbreak-question-limit 20 \
  --harmless "$DATA/harmless_val.json" --harmless-skip 39 --harmless-limit "${HARMLESS_LIMIT:-200}" \
  --over-refusal "$DATA/xstest_prompts.csv" "${UTILITY_ARGS[@]}" "${LIMIT_ARGS[@]}" \
  --refusal-markers "$DATA/gcg_evaluate_test_prefixes.json" \
  --max-tokens "$MAX_TOKENS" --threads "$THREADS" --out "$OUT/eval" "$@"
