#!/usr/bin/env bash
# The README's evaluation of Gemma 3 270M (npm run eval:gemma): vectors from the calibration data,
# validation on the validation splits, then the evaluation sets of ../shared/data against the
# unguided baseline. Resumable: rerunning continues where it stopped. Takes about an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
OUT=${OUT:-bench-results/eval-gemma}
MODEL=${MODEL:-$(python3 scripts/models.py locate | python3 -c 'import json,sys; print(json.load(sys.stdin)["gemma3"] or "")')}
THREADS=${THREADS:-2}
MAX_TOKENS=${MAX_TOKENS:-32}
[ -n "$MODEL" ] || { echo "Gemma 3 270M is not installed: python3 scripts/models.py install" >&2; exit 1; }
mkdir -p "$OUT"
CLI="node dist/cli/index.js"
if [ ! -f "$OUT/vectors.gguf" ]; then
  $CLI extract --model "$MODEL" --harmful "$DATA/harmful_train.json" --harmless "$DATA/harmless_train.json" \
    --val-harmful "$DATA/harmful_val.json" --val-harmless "$DATA/harmless_val.json" --limit 260 --val-limit 39 \
    --threads "$THREADS" --out "$OUT/vectors.gguf" | tee "$OUT/extract.txt"
fi
# AdvBench rows not in harmful_train; 25 short jailbreak templates x 20 questions; 200 harmless
# prompts after the 39 used for validation; XSTest's safe prompts.
$CLI eval --model "$MODEL" --gate "$OUT/vectors.gguf" --modes steer,refuse \
  --harmful "$DATA/advbench.csv" --exclude "$DATA/harmful_train.json" \
  --jailbreak-templates "$DATA/seed_short_25.csv" --jailbreak-questions "$DATA/question_list.csv" --jailbreak-question-limit 20 \
  --harmless "$DATA/harmless_val.json" --harmless-skip 39 --harmless-limit 200 \
  --over-refusal "$DATA/xstest_prompts.csv" \
  --refusal-markers "$DATA/gcg_evaluate_test_prefixes.json" \
  --max-tokens "$MAX_TOKENS" --threads "$THREADS" --out "$OUT/eval" "$@"
