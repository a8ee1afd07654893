"""Synthetic trajectories for exercising the trajectory pipeline — **not molecular dynamics**.

:func:`ou_displacements` moves every atom of a structure by an
Ornstein–Uhlenbeck process around its reference position, independently per
atom and Cartesian component:

    u(0) ~ N(0, σ²),   u(t+1) = a·u(t) + √(1 − a²)·σ·ξ(t),   a = exp(−1/τ),

with ξ standard normal: stationary Gaussian displacements of rms σ (Å) per
component whose correlation ⟨u(t)u(t+m)⟩ = σ²·aᵐ decays over τ frames. There
is no force field, no momentum and no hopping: atoms vibrate around fixed
sites, uncorrelated with each other. It is a cheap, reproducible stand-in with
a known time structure, nothing more; a real study brings an MD (or kinetic
Monte Carlo) trajectory (docs/application.md). Every random number comes from
``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from ase import Atoms

__all__ = ["ou_displacements", "write_ou_trajectory"]


def ou_displacements(
    atoms: Atoms,
    n_frames: int,
    sigma: float,
    tau_frames: float,
    seed: int | np.random.SeedSequence,
) -> Iterator[Atoms]:
    """Frames of ``atoms`` displaced by a stationary Ornstein–Uhlenbeck process, one at a time.

    Parameters
    ----------
    atoms : ase.Atoms
        Reference structure, Å (not modified).
    n_frames : int
        Frames to yield.
    sigma : float
        Stationary rms displacement per Cartesian component, Å.
    tau_frames : float
        Correlation time in frames (> 0).
    seed : int or numpy.random.SeedSequence
        Seed of the ``numpy.random.Generator``.

    Yields
    ------
    ase.Atoms
        Copies with ``info["frame"] = t`` and ``info["synthetic"] = "ornstein-uhlenbeck"``.
    """
    if tau_frames <= 0 or sigma < 0 or n_frames < 0:
        raise ValueError("need tau_frames > 0, sigma ≥ 0 and n_frames ≥ 0")
    rng = np.random.default_rng(seed)
    a = float(np.exp(-1.0 / tau_frames))
    kick = np.sqrt(1.0 - a * a) * sigma
    ref = atoms.get_positions()
    u = sigma * rng.standard_normal(ref.shape)
    for t in range(n_frames):
        if t:
            u = a * u + kick * rng.standard_normal(ref.shape)
        frame = atoms.copy()
        frame.positions = ref + u
        frame.info["frame"] = t
        frame.info["synthetic"] = "ornstein-uhlenbeck"
        yield frame


def write_ou_trajectory(
    atoms: Atoms,
    path: str | os.PathLike[str],
    n_frames: int,
    sigma: float,
    tau_frames: float,
    seed: int | np.random.SeedSequence,
) -> Path:
    """Write :func:`ou_displacements` frames to an extxyz file, one frame at a time."""
    from ase.io import write

    out = Path(path)
    with open(out, "w", encoding="utf-8") as fh:
        for frame in ou_displacements(atoms, n_frames, sigma, tau_frames, seed):
            write(fh, frame, format="extxyz")
    return out
