#!/usr/bin/env bash
# Full-scale entries of the two baselines beyond the paper (issue 13): λ-SOAP + LODE SA-GPR
# ("lode") and Δ-learning on the point-charge prior ("delta"). Resumable: a step whose entry
# already exists is skipped, so a killed run continues where it stopped; COMMIT=1 (default)
# commits every entry as it lands (only that file).
#
#   tools/run_beyond_baselines.sh                      # pcm-v2 (point-charge labels, NOT DFT)
#   DATASET=dft-pbe-v1 TUNE_SPLIT=structure SPLITS="ordering" LEARNING_CURVE=1 \
#       tools/run_beyond_baselines.sh                  # the DFT labels, once registered
#
# Decisions (docs/baselines.md): each model is tuned on TUNE_SPLIT (Box-Behnken, 5-fold CV on
# N_CV training sites per nucleus with N_ACTIVE_CV active environments), then fitted on the
# whole training set with N_ACTIVE active environments; the SPLITS reuse the TUNE_SPLIT
# hyperparameters. LEARNING_CURVE=1 adds the 7Li learning curves of all tensor models.
# On point-charge data sets (pcm-*) the Δ-model is not tuned (DELTA_TUNE=0): its residual is
# round-off there, every design point scores ~1e-15 and the search would pick noise; it uses
# the fixed quick λ-SOAP hyperparameters. On DFT labels it is tuned (DELTA_TUNE=1).
# Run it in the background (the session may stop):  nohup tools/run_beyond_baselines.sh &
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-out/beyond}
DATASET=${DATASET:-pcm-v2}
TUNE_SPLIT=${TUNE_SPLIT:-random}
SPLITS=${SPLITS:-ordering}
N_CV=${N_CV:-2000}
N_ACTIVE_CV=${N_ACTIVE_CV:-500}
N_ACTIVE=${N_ACTIVE:-1000}
COMMIT=${COMMIT:-1}
LEARNING_CURVE=${LEARNING_CURVE:-0}
E=leaderboard/entries
declare -A SLUG=([lode]=soap-lode-sa-gpr [delta]=point-charge-prior--soap-sa-gpr)
case "$DATASET" in pcm-*) DELTA_TUNE=${DELTA_TUNE:-0} ;; *) DELTA_TUNE=${DELTA_TUNE:-1} ;; esac
declare -A HPO=([lode]=--hpo [delta]=)
if [ "$DELTA_TUNE" = 1 ]; then HPO[delta]=--hpo; fi

# commit_paths MESSAGE PATH...: commit only these files (COMMIT=1), retrying while git is busy
commit_paths() {
    local msg=$1 try
    shift
    [ "$COMMIT" = 1 ] || return 0
    for try in $(seq 10); do
        git add "$@" && git commit -q -m "$msg" -- "$@" && return 0
        echo "commit attempt $try failed; retrying" >&2 && sleep 5
    done
    echo "could not commit $*" >&2
}

# render_leaderboard: re-render leaderboard/README.md and the README table from the committed
# entries (a clean export of HEAD, so nobody's uncommitted edits leak in) and commit them,
# unless someone has uncommitted edits in those two files (then say so and leave them).
render_leaderboard() {
    [ "$COMMIT" = 1 ] || return 0
    local tmp
    tmp=$(mktemp -d)
    git archive HEAD | tar -x -C "$tmp"
    PYTHONPATH="$tmp" $PY -c 'import sys; from ltoefg.cli import main
sys.exit(main(["leaderboard", "--root", sys.argv[1]]))' "$tmp" >/dev/null
    if ! git diff --quiet HEAD -- README.md leaderboard/README.md; then
        echo "README.md or leaderboard/README.md has uncommitted edits: re-render by hand" >&2
    elif ! cmp -s "$tmp/README.md" README.md || ! cmp -s "$tmp/leaderboard/README.md" leaderboard/README.md; then
        cp "$tmp/README.md" README.md && cp "$tmp/leaderboard/README.md" leaderboard/README.md
        commit_paths "Leaderboard re-rendered (issue-13 entries, ${DATASET})" README.md leaderboard/README.md
    fi
    rm -rf "$tmp"
}

# step ENTRY_FILE COMMAND...: run COMMAND unless ENTRY_FILE exists, then commit the entry
step() {
    local entry="$E/$1"
    shift
    [ -f "$entry" ] && { echo "skip: $entry exists"; return 0; }
    echo "run: $*" && "$@"
    commit_paths "Baseline entry $(basename "$entry" .json) (${DATASET}; full scale, issue 13)" "$entry"
    render_leaderboard
}

for model in lode delta; do
    step "${DATASET}__${TUNE_SPLIT}__${SLUG[$model]}.json" \
        $PY -m baselines train --model "$model" --dataset "$DATASET" --split "$TUNE_SPLIT" \
        ${HPO[$model]} --n-cv "$N_CV" --n-active-cv "$N_ACTIVE_CV" --n-active "$N_ACTIVE" \
        --out "$OUT/$DATASET/$TUNE_SPLIT"
done
for split in $SPLITS; do
    for model in lode delta; do
        step "${DATASET}__${split}__${SLUG[$model]}.json" \
            $PY -m baselines train --model "$model" --dataset "$DATASET" --split "$split" \
            --n-cv "$N_CV" --n-active-cv "$N_ACTIVE_CV" --n-active "$N_ACTIVE" \
            --out "$OUT/$DATASET/$split" \
            --hypers-from "$E/${DATASET}__${TUNE_SPLIT}__${SLUG[$model]}.json"
    done
done

if [ "$LEARNING_CURVE" = 1 ]; then
    curve="leaderboard/learning-curves/${DATASET}__${TUNE_SPLIT}__Li.csv"
    if [ -f "$curve" ]; then
        echo "skip: $curve exists"
    else
        args=()
        for pair in "tensor:soap-sa-gpr" "lode:${SLUG[lode]}" "delta:${SLUG[delta]}"; do
            entry="$E/${DATASET}__${TUNE_SPLIT}__${pair#*:}.json"
            [ -f "$entry" ] && args+=("--${pair%%:*}-entry" "$entry")
        done
        $PY -m baselines learning-curve --dataset "$DATASET" --nucleus Li --split "$TUNE_SPLIT" \
            --model tensors --sizes "${SIZES:-25,50,100,200,all}" --n-active "$N_ACTIVE" \
            "${args[@]}" --out leaderboard/learning-curves
        commit_paths "Learning curves of the tensor models, 7Li, ${DATASET} (issue 13)" \
            "$curve" "${curve%.csv}.png"
    fi
fi
