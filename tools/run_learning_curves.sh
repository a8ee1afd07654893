#!/usr/bin/env bash
# Learning curves (paper Fig. 5) of both baselines for 7Li on pcm-v1 (point-charge labels,
# not DFT), with the hyperparameters tuned by tools/run_full_baselines.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
$PY -m baselines learning-curve --nucleus Li --split random \
    --sizes 250,500,1000,2000,4000,8000,all --n-active 1000 \
    --tensor-entry leaderboard/entries/pcm-v1__random__soap-sa-gpr.json \
    --scalar-entry leaderboard/entries/pcm-v1__random__scalar-soap-gpr.json \
    --out leaderboard/learning-curves
