#!/bin/bash
# Start: setsid nohup tools/dft_pipeline.sh > /dev/null 2>&1 &   (logs in /work/dft-scratch/)
# The background DFT pipeline (resumable; start it again after a stop):
#   1. convergence study, k-mesh 2x2x1 and 3x3x1 at 15 Ha,
#   2. production of dft-pbe-v1 (48 structures, each committed as it lands),
#   3. the rest of the convergence study (4x4x2, ecut 12/20 Ha, 20 Ha 4x4x2).
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOG=/work/dft-scratch
mkdir -p $LOG/convergence
$PY tools/dft_convergence.py run --scratch /work/dft-scratch/convergence \
    --only conv-e15-k221 conv-e15-k331 >> $LOG/convergence/run.log 2>&1 || exit 1
$PY tools/dft_production.py --scratch /work/dft-scratch/production >> $LOG/production.log 2>&1 || exit 1
$PY tools/dft_convergence.py run --scratch /work/dft-scratch/convergence >> $LOG/convergence/run.log 2>&1
