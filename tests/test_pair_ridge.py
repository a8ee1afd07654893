"""Known-answer tests of the pair-feature ridge baseline (baselines/models/pair_ridge.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

pytest.importorskip("matscipy", reason="matscipy (extra 'baselines') is not installed")

from baselines.models.pair_ridge import N_BINS, SPECIES, PairRidgeModel, pair_features  # noqa: E402
from ltoefg.data.structures import generate_structures  # noqa: E402
from ltoefg.tensors import random_rotations  # noqa: E402


@pytest.fixture(scope="module")
def frames():
    structures, _ = generate_structures(6, seed=11)
    return structures


def _centres(frames, n_per: int | None = None) -> np.ndarray:
    rows = [(s, a) for s, at in enumerate(frames) for a in range(len(at))]
    return np.array(rows if n_per is None else rows[:n_per], dtype=np.int64)


def test_features_are_symmetric_traceless_and_match_a_direct_sum(frames) -> None:
    cen = _centres(frames)
    f = pair_features(frames, cen)
    assert f.shape == (len(cen), len(SPECIES) * N_BINS, 3, 3)
    assert np.abs(f - np.swapaxes(f, 2, 3)).max() < 1e-12
    assert np.abs(np.trace(f, axis1=2, axis2=3)).max() < 1e-12
    # one site against an explicit sum over 75 periodic images
    at = frames[2]
    i = 7
    shifts = np.array([[a, b, c] for a in range(-2, 3) for b in range(-2, 3) for c in (-1, 0, 1)])
    direct = np.zeros((len(SPECIES) * N_BINS, 3, 3))
    from baselines.models import pair_ridge as R

    r_k = np.linspace(R.R_MIN, R.CUTOFF, R.N_BINS)
    w = r_k[1] - r_k[0]
    for j in range(len(at)):
        for n in shifts:
            v = at.positions[j] + n @ at.cell[:] - at.positions[i]
            d = np.linalg.norm(v)
            if d < 1e-9 or d >= R.CUTOFF:
                continue
            u = v / d
            t = (3 * np.outer(u, u) - np.eye(3)) / d**3
            sw = 1.0
            if d > R.CUTOFF - R.CUTOFF_WIDTH:
                sw = 0.5 * (1 + np.cos(np.pi * (d - R.CUTOFF + R.CUTOFF_WIDTH) / R.CUTOFF_WIDTH))
            s = SPECIES.index(at.get_chemical_symbols()[j])
            g = np.exp(-0.5 * ((d - r_k) / w) ** 2) * sw
            direct[s * N_BINS : (s + 1) * N_BINS] += g[:, None, None] * t
    row = int(np.flatnonzero((cen[:, 0] == 2) & (cen[:, 1] == i))[0])
    np.testing.assert_allclose(f[row], direct, atol=1e-12)


def test_fit_recovers_known_coefficients(frames) -> None:
    cen = _centres(frames)
    f = pair_features(frames, cen)
    rng = np.random.default_rng(3)
    coef = rng.normal(size=len(SPECIES) * N_BINS)
    efg = np.einsum("nkab,k->nab", f, coef)
    model = PairRidgeModel(alpha=1e-14).fit_features(f, efg)
    np.testing.assert_allclose(model.predict_features(f), efg, atol=1e-6 * np.abs(efg).max())
    assert model.n_parameters == 36


def test_predictions_are_exactly_equivariant(frames) -> None:
    cen = _centres(frames)
    rng = np.random.default_rng(5)
    f = pair_features(frames, cen)
    model = PairRidgeModel(alpha=1e-8).fit_features(f, rng.normal(size=(len(cen), 3, 3)))
    rot = random_rotations(1, rng)[0]
    turned = []
    for at in frames:
        b = at.copy()
        b.set_cell(at.cell[:] @ rot.T, scale_atoms=True)
        turned.append(b)
    p0 = model.predict(frames, cen)
    p1 = model.predict(turned, cen)
    np.testing.assert_allclose(p1, rot @ p0 @ rot.T, atol=1e-10 * np.abs(p0).max())
