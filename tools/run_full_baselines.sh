#!/usr/bin/env bash
# Full-scale reference baselines on pcm-v1 (point-charge labels, not DFT), as committed in
# leaderboard/entries/. Tuned on the random split (Box-Behnken, 5-fold CV on 2000 training
# sites per nucleus, 500 active environments inside the search), then fitted on the whole
# training set; the structure split reuses the random-split hyperparameters.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
OUT=${OUT:-out/full}
$PY -m baselines train --model tensor --split random --hpo --n-active 1000 --out "$OUT/random"
$PY -m baselines train --model scalar --split random --hpo --n-active 2000 --out "$OUT/random"
$PY -m baselines train --model tensor --split structure --n-active 1000 --out "$OUT/structure" \
    --hypers-from "leaderboard/entries/pcm-v1__random__soap-sa-gpr.json"
$PY -m baselines train --model scalar --split structure --n-active 2000 --out "$OUT/structure" \
    --hypers-from "leaderboard/entries/pcm-v1__random__scalar-soap-gpr.json"
