#!/usr/bin/env bash
# vs_diffusers.sh: docs/performance.md's engine-vs-diffusers table, measured side by side in one
# run: for each model (SD 1.5 512², SDXL 1024²) and dtype (fp32, bf16), `pangu-draw bench --model`
# and tools/perf/bench_diffusers.py on the same saved folder, one after the other, each in its own
# process (peak RSS includes the load). A shared VM's speed drifts by tens of percent from minute
# to minute, so each pair runs $REPEAT times (default 2), engine and diffusers alternating; the
# table takes each side's best run. JSON reports go to $OUT (default out/perf); then
# tools/perf/table.py prints the markdown table.
#
#   PYTHONPATH=<diffusers + transformers + accelerate, installed with --target> \
#     bash tools/perf/vs_diffusers.sh [sd15|sdxl ...]
#
# Needs build/pangu-draw, the project's .venv (its torch is the engine's LibTorch), ~30 GB of
# free disk under $MODELS (default /tmp) for the saved folders, and an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-out/perf}
MODELS=${MODELS:-/tmp}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-2}
mkdir -p "$OUT"
run() {  # name, command...: the command's stdout (JSON) into $OUT/name.json
  local name=$1; shift
  echo "== $name: $*" >&2
  "$@" > "$OUT/$name.json.part" && mv "$OUT/$name.json.part" "$OUT/$name.json"
}
for dtype in fp32 bf16; do  # the machine's peak (shares of peak): best of 3 runs
  for r in 1 2 3; do
    run "peak-$dtype-r$r" build/pangu-draw bench --peak-only --dtype "$dtype" --threads "$THREADS" --json -q
  done
done
archs=("$@"); [ $# -gt 0 ] || archs=(sd15 sdxl)
for a in "${archs[@]}"; do
  {
    dir=$MODELS/pd-bench-$a
    [ -f "$dir/model_index.json" ] || build/pangu-draw bench --arch "$a" --save-model "$dir" -q
    if [ "$a" = sd15 ]; then size=512; steps=(--steps 2); else size=1024; steps=(--steps 1 --no-warmup); fi
    for dtype in fp32 bf16; do
     for r in $(seq 1 "$REPEAT"); do
      peak=(); [ "$a" = sd15 ] || peak=(--no-peak)
      run "$a-$dtype-engine-r$r" build/pangu-draw bench --model "$dir" --dtype "$dtype" -W $size -H $size \
        "${steps[@]}" "${peak[@]}" --threads "$THREADS" --vae-tile 0 --json -q
      run "$a-$dtype-diffusers-r$r" .venv/bin/python tools/perf/bench_diffusers.py --model "$dir" \
        --dtype "$dtype" -W $size -H $size "${steps[@]}" --threads "$THREADS"
     done
    done
  }
done
.venv/bin/python tools/perf/table.py "$OUT"
