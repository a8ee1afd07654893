"""What a baseline run is given: its options, the training sites of a nucleus and the CV folds.

Shared by the paper's baselines (:mod:`baselines.runs.pipeline`) and the models
beyond the paper (:mod:`baselines.runs.beyond`): the run options, the Box-Behnken
search space, the seeded training subsets, the frozen CV folds restricted to
them, and the sites of the CV spread (:mod:`baselines.runs.cv_spread`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

import ltoefg
from baselines.engine.doe import Factor
from baselines.models.soap import Hypers
from baselines.runs import cv_spread as CVS
from ltoefg import constants as C
from ltoefg import nmr

#: Scalar targets learned by the scalar baseline (ωQ is the direct model of Fig. 4a).
SCALAR_TARGETS: tuple[str, ...] = (
    C.OBS_CQ_TILDE,
    C.OBS_ETA_TILDE,
    C.OBS_THETA,
    C.OBS_PHI,
    C.OBS_OMEGA_Q_KHZ,
)

#: The Box-Behnken factors (ζ = 2 fixed, n_max 5, l_max 4 as in the first prototype).
HPO_FACTORS: tuple[Factor, ...] = (
    Factor("cutoff", 4.5, 7.0),
    Factor("sigma", 0.25, 0.55),
    Factor("regularisation", 1e-6, 1e-2, log=True),
)

#: Fixed hyperparameters of ``--quick`` (the first prototype's setting).
QUICK_HYPERS = Hypers(
    cutoff=5.0, sigma=0.4, n_max=5, l_max=4, zeta=2.0, regularisation=1e-4, n_active=800
)
QUICK_N_TRAIN = 1200
SUBSET_SEED = 20250402


@dataclass
class NucleusData:
    """Sites of one nucleus: ids, (structure, atom) centres, reference tensors, scalar targets."""

    ids: NDArray[np.int64]
    centres: NDArray[np.int64]
    efg: NDArray[np.float64]
    targets: dict[str, NDArray[np.float64]]

    def subset(self, rows: NDArray[np.int64]) -> NucleusData:
        """Rows ``rows`` (positions into ``ids``)."""
        return NucleusData(
            self.ids[rows],
            self.centres[rows],
            self.efg[rows],
            {k: v[rows] for k, v in self.targets.items()},
        )


def nucleus_data(ds: ltoefg.Dataset, ids: NDArray[np.int64], nucleus: str) -> NucleusData:
    """Centres, tensors and scalar targets (observables of the reference) of ``ids``."""
    ids = np.asarray(ids, dtype=np.int64)
    sites = ds.sites
    centres = np.stack(
        [sites[C.COL_STRUCTURE].to_numpy()[ids], sites[C.COL_ATOM_INDEX].to_numpy()[ids]], axis=1
    )
    mu, sigma = ds.stats(nucleus)
    obs = nmr.observable_arrays(ds.efg[ids], nucleus, mu, sigma)
    return NucleusData(ids, centres, ds.efg[ids], {k: obs[k] for k in SCALAR_TARGETS})


def subsample(ids: NDArray[np.int64], n: int | None, salt: int) -> NDArray[np.int64]:
    """A seeded subset of ``n`` ids (all of them if n is None or ≥ len), sorted."""
    if n is None or n >= ids.size:
        return np.sort(ids)
    rng = np.random.default_rng([SUBSET_SEED, salt])
    return np.sort(rng.choice(ids, size=n, replace=False))


@dataclass
class CVSetup:
    """Folds as row positions into the training :class:`NucleusData`."""

    train: NucleusData
    folds: list[tuple[NDArray[np.int64], NDArray[np.int64]]]


def cv_setup(
    ds: ltoefg.Dataset, split: str, nucleus: str, n_train: int | None, salt: int
) -> CVSetup:
    """The frozen folds restricted to a seeded subset of ``n_train`` training ids."""
    sp = ds.split(split, nucleus)
    ids = subsample(sp.train, n_train, salt)
    return CVSetup(nucleus_data(ds, ids, nucleus), CVS.restrict_folds(sp.folds, ids))


#: Structures of each data-set file, read once per process.
_FRAMES: dict[str, list[Any]] = {}


def frames(ds: ltoefg.Dataset) -> list[Any]:
    key = str(ds.path)
    if key not in _FRAMES:
        _FRAMES[key] = ds.structures()
    return _FRAMES[key]


@dataclass
class RunOptions:
    """What to run.

    Attributes
    ----------
    dataset, split : str
    nuclei : tuple of str
    n_train : int or None
        Training sites per nucleus (None: the whole training set).
    hypers : Hypers
        Fixed hyperparameters (or the base of the search with ``hpo``).
    hpo : bool
        Tune by Box-Behnken + 5-fold CV.
    n_cv : int or None
        Training sites used in the CV of the search.
    n_active_cv : int
        Active environments of the sparse GPR inside the search (the final fit
        uses ``hypers.n_active``).
    fixed : dict, optional
        Per-nucleus hyperparameter records of an earlier entry (its
        ``hyperparameters`` field), e.g. to reuse the ``random``-split tuning on
        the ``structure`` split. Its search table (``cv_table``) is carried over.
    fixed_source : str
        File name of that entry (recorded as ``hypers_from``).
    tag : str
        Appended to the model name (e.g. ``"quick"``).
    """

    dataset: str = C.DEFAULT_DATASET
    split: str = "random"
    nuclei: tuple[str, ...] = C.NUCLEI
    n_train: int | None = None
    hypers: Hypers = QUICK_HYPERS
    hpo: bool = False
    n_cv: int | None = 2000
    n_active_cv: int = 500
    tag: str = ""
    fixed: dict[str, Any] | None = None
    fixed_source: str = ""


def cv_sites(
    ds: ltoefg.Dataset, opts: RunOptions, nucleus: str, train: NucleusData
) -> tuple[NDArray[np.int64], int | None]:
    """Rows of ``train`` for the CV spread and the active environments to use there.

    See :mod:`baselines.runs.cv_spread`: all training sites of a run on at most
    ``n_cv`` sites, else the search's CV subset; always with the search's
    ``n_active_cv`` active environments (the setting of the search's CV table,
    and 15 sparse fits of 5 × 500 rather than 5 × 800 unknowns keep ``quick``
    short).
    """
    salt = C.NUCLEI.index(nucleus)
    if opts.n_cv is None or train.ids.size <= opts.n_cv:
        return np.arange(train.ids.size, dtype=np.int64), opts.n_active_cv
    tuning = subsample(ds.split(opts.split, nucleus).train, opts.n_cv, salt)
    rows = CVS.cv_rows(train.ids, tuning, opts.n_cv, subsample, salt)
    return rows, opts.n_active_cv
