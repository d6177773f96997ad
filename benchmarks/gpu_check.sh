#!/usr/bin/env bash
# The issue-11 benchmarks on a CUDA device, in under 8 minutes (budgets shortened from the CPU ones):
#   sensor scenes (virtual room + 7-Scenes kitchen): TSDF anchor, sensor field, fast field, 1 min each;
#   DTU scan24 3 views: fast field with and without the ranking prior, 1.5 min each.
# Without CUDA it says so and exits 3 before running anything.
#   usage: benchmarks/gpu_check.sh [OUT_DIR]     (env: PYTHON, SPARSENERF_DATA)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${SPARSENERF_DATA:-../shared/data}
OUT=${1:-benchmarks/results/gpu}
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check.sh: no CUDA device (torch.cuda.is_available() is False with $PY); nothing was run" >&2
    exit 3
fi
mkdir -p "$OUT"
"$PY" -c "import torch; print('device:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
export PYTHONPATH=$PWD
# each step has its own wall-clock cap so the whole script stays under 8 minutes
timeout 280 "$PY" benchmarks/sensor_scenes.py --minutes 1 --arms anchor,sensor,fast --threads 4 \
    --kitchen "$DATA/7scenes_redkitchen" --room "$OUT/room" --images "$OUT" --json "$OUT/sensor_scenes.json" \
    | tee "$OUT/sensor_scenes.txt"
timeout 180 "$PY" benchmarks/dtu_fewshot.py --data "$DATA/dtu_scan24" --minutes 1.5 --arms prior,noprior \
    --threads 4 --json "$OUT/dtu_fewshot.json" | tee "$OUT/dtu_fewshot.txt"
echo "gpu_check.sh: done; results in $OUT"
