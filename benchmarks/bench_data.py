"""Speed of opening pcm-v1 (verified, from the package/cache) and of rebuilding it from scratch.

Run with ``pytest benchmarks/bench_data.py``.
"""

from __future__ import annotations

from pathlib import Path

import ltoefg
from ltoefg.data.generate import generate_pcm


def test_load_pcm_v1(benchmark) -> None:
    """Open + SHA-256 verify + read all arrays + build the site table."""

    def run() -> None:
        ds = ltoefg.load("pcm-v1")
        _ = ds.sites
        _ = ds.split("random", "Li")

    benchmark(run)


def test_generate_pcm_v1_from_scratch(benchmark, tmp_path: Path) -> None:
    """1640 structures (scale, strain, MC rattle) + Ewald point-charge labels + HDF5 write."""
    benchmark.pedantic(generate_pcm, args=(tmp_path / "pcm-v1.h5",), rounds=1, iterations=1)
