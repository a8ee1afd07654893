"""Speed of the observables and metrics on a data-set-sized batch (68,880 tensors).

Run with ``pytest benchmarks/bench_metrics.py --benchmark-enable``. The peer is
Soprano's per-site EFG properties (Vzz, η, CQ, quaternion) on the same tensors.
"""

from __future__ import annotations

import numpy as np
import pytest

from ltoefg import metrics, nmr

pytestmark = pytest.mark.filterwarnings("ignore")  # Soprano warns once per site

N_SITES = {"Li": 13_120, "Ti": 16_400, "O": 39_360}  # 68,880 in total, as in the data set


@pytest.fixture(scope="module")
def tensors() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = {}
    for nucleus, n in N_SITES.items():
        ref = rng.normal(size=(n, 3, 3))
        ref = 0.5 * (ref + np.swapaxes(ref, 1, 2))
        out[nucleus] = (ref, ref + 0.05 * rng.normal(size=ref.shape))
    return out


def test_all_metrics_68880(benchmark, tensors) -> None:
    def run() -> None:
        for nucleus, (ref, pred) in tensors.items():
            metrics.report(ref, pred, nucleus, mu=1.0, sigma=0.5)

    benchmark(run)


def test_observables_68880(benchmark, tensors) -> None:
    def run() -> None:
        for nucleus, (ref, _) in tensors.items():
            nmr.observables(ref, nucleus, mu=1.0, sigma=0.5)

    benchmark(run)


def test_soprano_observables_68880(benchmark, tensors) -> None:
    """Peer: Soprano's EFG properties (Vzz, η, CQ, quaternion) on the same tensors."""
    props = pytest.importorskip("soprano.properties.nmr")
    from ase import Atoms

    efg = np.concatenate([tensors[k][0] for k in N_SITES]) / 97.1736242
    symbols = sum(([k] * n for k, n in N_SITES.items()), [])
    atoms = Atoms(symbols, positions=np.zeros((len(symbols), 3)), cell=[10, 10, 10], pbc=True)
    atoms.set_array("efg", efg)
    iso = {"Li": 7, "Ti": 47, "O": 17}

    def run() -> None:
        props.EFGVzz.get(atoms, force_recalc=True)
        props.EFGAsymmetry.get(atoms, force_recalc=True)
        props.EFGQuadrupolarConstant.get(atoms, isotopes=iso, force_recalc=True)
        props.EFGQuaternion.get(atoms)

    benchmark.pedantic(run, rounds=1, iterations=1)
