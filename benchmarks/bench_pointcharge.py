"""Speed of the structure generator and of the Ewald point-charge labels (SPEC §4.1–4.2).

Run with ``pytest benchmarks/bench_pointcharge.py --benchmark-enable``. The full
data set is 1640 structures of 42 atoms; the heavy cases run one round each.
"""

from __future__ import annotations

import numpy as np
import pytest

from ltoefg.data import pointcharge, structures


@pytest.fixture(scope="module")
def dataset_structures():
    frames, _ = structures.generate_structures()
    return frames


def test_generate_1640_structures(benchmark) -> None:
    frames, table = benchmark.pedantic(structures.generate_structures, rounds=1, iterations=1)
    assert len(frames) == 1640 and len(table) == 1640


def test_label_one_structure(benchmark, dataset_structures) -> None:
    efg = benchmark(pointcharge.pcm_efg, dataset_structures[0])
    assert efg.shape == (42, 3, 3)


def test_label_1640_structures(benchmark, dataset_structures) -> None:
    def run() -> np.ndarray:
        return np.concatenate([pointcharge.pcm_efg(a) for a in dataset_structures])

    efg = benchmark.pedantic(run, rounds=1, iterations=1)
    assert efg.shape == (68_880, 3, 3)


def test_potential_matrix_16d_1512_atoms(benchmark) -> None:
    atoms, idx16 = structures.cubic_supercell(3)
    phi = benchmark.pedantic(
        pointcharge.ewald_potential_matrix, args=(atoms, idx16), rounds=1, iterations=1
    )
    assert phi.shape == (432, 432)
