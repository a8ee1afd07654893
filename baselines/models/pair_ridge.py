"""Pair-feature ridge regression: a model of the point-charge labeller's own form.

A point-charge EFG is a pair sum, V(i) = Σ_j q_j (1 − γ) T(r_ij) with the
dipole-dipole-like tensor T(r) = (3 r̂ r̂ᵀ − 1)/r³ (V/Å² per e·V·Å). This model
keeps exactly that form and learns only a radial weight per neighbour species:

    V(i) = Σ_s Σ_k c_{s,k} F_{s,k}(i),   F_{s,k}(i) = Σ_{j ∈ s, r_ij < r_c} g_k(r_ij) T(r_ij),

with species s ∈ {Li, Ti, O}, 12 Gaussian radial bins g_k (centres evenly spaced
from :data:`R_MIN` to the cutoff :data:`CUTOFF` = 7 Å, width = their spacing),
times a cosine cutoff that takes the last :data:`CUTOFF_WIDTH` Å smoothly to
zero. That is 36 scalar coefficients per nucleus, fitted by ridge regression on
all 9 Cartesian elements of the training tensors; because every F is a
symmetric traceless tensor built from the structure and the coefficients are
scalars, predictions are exactly rotation-equivariant. The ridge strength α is
chosen by 5-fold CV on the frozen folds (a grid, :data:`ALPHAS`).

On ``pcm-*`` data sets this model nearly *is* the labeller (whose charges are
the same for every site of a species, and whose only missing part is the tail
beyond 7 Å), so its leaderboard row shows how much of a point-charge data set a
model of the labeller's form explains — a sanity row, not a contender. On DFT
labels it is an honest, very small equivariant baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from numpy.typing import NDArray

from ltoefg.tensors import symmetric_traceless

__all__ = [
    "ALPHAS",
    "CUTOFF",
    "N_BINS",
    "SPECIES",
    "PairRidgeModel",
    "pair_features",
]

#: Neighbour species, in feature order.
SPECIES: tuple[str, ...] = ("Li", "Ti", "O")
#: Number of Gaussian radial bins per neighbour species.
N_BINS = 12
#: Neighbour cutoff, Å.
CUTOFF = 7.0
#: First bin centre, Å (shorter than any contact of the LTO structures).
R_MIN = 1.5
#: Width of the cosine switch to zero at the cutoff, Å.
CUTOFF_WIDTH = 1.0
#: Ridge strengths searched by CV (relative to the mean diagonal of FᵀF).
ALPHAS: tuple[float, ...] = tuple(10.0**p for p in range(-10, 1))


def _bin_centres() -> NDArray[np.float64]:
    return np.linspace(R_MIN, CUTOFF, N_BINS)


def pair_features(frames: Sequence[Atoms], centres: NDArray[np.int64]) -> NDArray[np.float64]:
    """Equivariant pair features of the given centres.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Periodic structures (positions in Å).
    centres : numpy.ndarray of int, shape (n, 2)
        (structure index, atom index) of every site.

    Returns
    -------
    numpy.ndarray, shape (n, 36, 3, 3)
        F_{s,k} of every site: species-major, bin-minor; each a symmetric
        traceless tensor in Å⁻³.
    """
    from ase.data import atomic_numbers
    from matscipy.neighbours import neighbour_list  # C neighbour search, ~50× ase's
    from scipy import sparse

    centres = np.asarray(centres, dtype=np.int64)
    r_k = _bin_centres()
    width = r_k[1] - r_k[0]
    species_of_z = np.full(119, -1)
    species_of_z[[atomic_numbers[s] for s in SPECIES]] = np.arange(len(SPECIES))
    out = np.zeros((len(centres), len(SPECIES) * N_BINS, 3, 3))
    for s in np.unique(centres[:, 0]):
        rows = np.flatnonzero(centres[:, 0] == s)
        atoms = frames[int(s)]
        i, j, d, vec = neighbour_list("ijdD", atoms, CUTOFF)
        unit = vec / d[:, None]
        t = (3.0 * unit[:, :, None] * unit[:, None, :] - np.eye(3)) / d[:, None, None] ** 3
        sw = np.where(
            d > CUTOFF - CUTOFF_WIDTH,
            0.5 * (1.0 + np.cos(np.pi * (d - CUTOFF + CUTOFF_WIDTH) / CUTOFF_WIDTH)),
            1.0,
        )
        g = np.exp(-0.5 * ((d[:, None] - r_k[None, :]) / width) ** 2) * sw[:, None]  # (P, K)
        gt = (g[:, :, None] * t.reshape(-1, 1, 9)).reshape(d.size, N_BINS * 9)
        # sum over the neighbours j of each centre i, one species at a time (index arithmetic)
        key = i * len(SPECIES) + species_of_z[atoms.numbers[j]]
        summed = sparse.csr_matrix(
            (np.ones(key.size), (key, np.arange(key.size))),
            shape=(len(atoms) * len(SPECIES), key.size),
        )
        block = (summed @ gt).reshape(len(atoms), len(SPECIES) * N_BINS, 3, 3)
        out[rows] = block[centres[rows, 1]]
    return out


@dataclass
class PairRidgeModel:
    """Ridge regression of EFG tensors on :func:`pair_features` (36 coefficients).

    Attributes
    ----------
    alpha : float
        Ridge strength relative to the mean diagonal of FᵀF.
    coef : numpy.ndarray, shape (36,)
        Fitted coefficients (V/Å² per Å⁻³, i.e. V·Å), set by :meth:`fit`.
    """

    alpha: float = 1e-6
    coef: NDArray[np.float64] | None = None

    @property
    def n_parameters(self) -> int:
        """Number of fitted parameters."""
        return len(SPECIES) * N_BINS

    @staticmethod
    def _design(features: NDArray[np.float64]) -> NDArray[np.float64]:
        # rows: every site × 9 elements; columns: the 36 features
        n, m = features.shape[:2]
        return features.transpose(0, 2, 3, 1).reshape(n * 9, m)

    def fit_features(
        self, features: NDArray[np.float64], efg: NDArray[np.float64]
    ) -> PairRidgeModel:
        """Fit on precomputed features (n, 36, 3, 3) and tensors (n, 3, 3) in V/Å²."""
        a = self._design(features)
        y = symmetric_traceless(np.asarray(efg, dtype=np.float64)).reshape(-1)
        ata = a.T @ a
        lam = self.alpha * float(np.mean(np.diag(ata)))
        self.coef = np.linalg.solve(ata + lam * np.eye(ata.shape[0]), a.T @ y)
        return self

    def predict_features(self, features: NDArray[np.float64]) -> NDArray[np.float64]:
        """Predicted tensors (n, 3, 3), V/Å²."""
        if self.coef is None:
            raise RuntimeError("fit the model first")
        return np.einsum("nkab,k->nab", features, self.coef)

    def fit(
        self, frames: Sequence[Atoms], centres: NDArray[np.int64], efg: NDArray[np.float64]
    ) -> PairRidgeModel:
        """Fit on the sites ``centres`` ((structure, atom) rows) of ``frames``."""
        return self.fit_features(pair_features(frames, centres), efg)

    def predict(self, frames: Sequence[Atoms], centres: NDArray[np.int64]) -> NDArray[np.float64]:
        """Predicted tensors of the sites ``centres``, V/Å²."""
        return self.predict_features(pair_features(frames, centres))
