#!/usr/bin/env bash
# Learning curves (paper Fig. 5) of the baselines for 7Li, with the hyperparameters tuned by
# tools/run_full_baselines.sh. DATASET defaults to pcm-v2 (point-charge labels, not DFT);
# MODEL=core (λ-SOAP, scalar SOAP, pair ridge) by default, MODEL=tensors adds the issue-13
# models (pass their entries with LODE_ENTRY / DELTA_ENTRY).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
DATASET=${DATASET:-pcm-v2}
SIZES=${SIZES:-250,500,1000,2000,4000,8000,all}
MODEL=${MODEL:-core}
EXTRA=()
[ -n "${LODE_ENTRY:-}" ] && EXTRA+=(--lode-entry "$LODE_ENTRY")
[ -n "${DELTA_ENTRY:-}" ] && EXTRA+=(--delta-entry "$DELTA_ENTRY")
$PY -m baselines learning-curve --dataset "$DATASET" --model "$MODEL" --nucleus Li \
    --split random --sizes "$SIZES" --n-active 1000 \
    --tensor-entry "leaderboard/entries/${DATASET}__random__soap-sa-gpr.json" \
    --scalar-entry "leaderboard/entries/${DATASET}__random__scalar-soap-gpr.json" \
    --out leaderboard/learning-curves "${EXTRA[@]}"
