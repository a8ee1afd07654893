"""Cost of one all-electron EFG label: one pcm-v2 structure with the production Elk protocol.

    pytest benchmarks/bench_dft.py --benchmark-enable        # ≈ 15–40 min on 2 cores

Runs :func:`ltoefg.dft.runner.run_structure` with ``elk-pbe-v1`` (2 OpenMP
threads) from scratch on one structure of the frozen selection
(``LTOEFG_BENCH_DFT_STRUCTURE``, default 103: ordering 0, the smallest gap)
in a temporary folder, one round. The wall time is the SCF to the EFG stop
plus the final EFG task; the SCF iterations and the band gap go into the
benchmark's ``extra_info``. Skipped without ``elk-lapw``. The median over the
committed production results is printed by ``ltoefg dft status --selection
dft-pbe-v1`` (docs/dft.md, cost).
"""

from __future__ import annotations

import os
import shutil

import pytest

import ltoefg
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.runner import run_structure

pytestmark = pytest.mark.skipif(
    shutil.which("elk-lapw") is None, reason="elk-lapw is not installed"
)


def test_one_structure_production_protocol(benchmark, tmp_path) -> None:
    sid = int(os.environ.get("LTOEFG_BENCH_DFT_STRUCTURE", "103"))
    atoms = ltoefg.load("pcm-v2").atoms(sid)

    def run() -> dict:
        folder = tmp_path / f"s{sid}-{len(list(tmp_path.iterdir()))}"
        return run_structure(atoms, PRODUCTION, folder, threads=2, timeout=3 * 3600)

    res = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(
        structure=sid,
        scf_iterations=res["scf_iterations"],
        gap_ha=res["gap_ha"],
        status=res["status"],
    )
    assert res["status"] == "ok", res.get("reason")
