#!/bin/bash
# Start: setsid nohup tools/dft_pipeline.sh > /dev/null 2>&1 &   (logs in /work/dft-scratch/)
# The background DFT pipeline (resumable; start it again after a stop):
#   1. k-mesh series at 15 Ha on both structures: 2x2x1, 3x3x1, then 4x4x2 and 4x4x1 (the cells
#      are nearly gapless in PBE, docs/dft.md §5.1, so the k-mesh decides the protocol),
#   2. ecut 12 and 20 Ha at 3x3x1 (structure 0),
#   3. production of dft-pbe-v1 (48 structures, each committed as it lands; PRODUCTION=1),
#   4. the rest of the convergence study (ecut series of structure 1036, 20 Ha 4x4x2).
cd "$(dirname "$0")/.."
PY=.venv/bin/python
LOG=/work/dft-scratch
mkdir -p $LOG/convergence
CONV="$PY tools/dft_convergence.py run --scratch $LOG/convergence"
$CONV --only conv-e15-k221 conv-e15-k331 >> $LOG/convergence/run.log 2>&1 || exit 1
$CONV --only conv-e15-k442 conv-e15-k441 >> $LOG/convergence/run.log 2>&1 || exit 1
$CONV --only conv-e12-k331 conv-e20-k331 --structures 0 >> $LOG/convergence/run.log 2>&1 || exit 1
# Production waits for the 4x4x2 comparison (docs/dft.md §5.3: O moved 15 % from 2x2x1 to
# 3x3x1); set PRODUCTION=1 once the mesh of the protocol is settled.
if [ "${PRODUCTION:-0}" = 1 ]; then
  $PY tools/dft_production.py --scratch $LOG/production >> $LOG/production.log 2>&1 || exit 1
fi
$CONV >> $LOG/convergence/run.log 2>&1
