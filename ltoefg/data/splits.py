"""Train/test splits and cross-validation folds (SPEC §4.5).

Three kinds, each per nucleus and over global ``site_id``s:

``random``
    The paper's: a seeded permutation of the nucleus's site ids; the first
    ``round(0.2·n)`` are the test set, the rest the training set, which
    ``numpy.array_split`` cuts into 5 CV folds (no id dropped).
``structure``
    Leakage-free: the same on a seeded permutation of the structures, so that
    all sites of a structure fall on one side (and in one fold). Scheme 2
    (``pcm-v2`` on): one structure permutation shared by all nuclei, so the
    test structures (and the fold of every structure) are the same for Li, Ti
    and O and a joint multi-species model never sees a test structure through
    another nucleus. Scheme 1 (``pcm-v1``) drew the structures per nucleus.
``ordering``
    Transfer: the test set is every structure of one 16d Li/Ti ordering
    (:data:`HELD_OUT_ORDERING`); the 5 folds are leave-one-ordering-out over
    the 5 remaining orderings.

All arrays are sorted ascending. Random choices come from
``numpy.random.default_rng([SPLIT_SEED, kind index, nucleus index])``, except the
scheme-2 ``structure`` split, which uses ``default_rng([SPLIT_SEED, kind index])``
for every nucleus.
The lists of registered versions are frozen in an ``.npz`` whose SHA-256 the
registry pins; :func:`make_split` regenerates them (a test checks equality).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import DataError

SPLIT_SEED = 20250401
#: Split schemes: 1 (``pcm-v1``: structure split drawn per nucleus) and 2 (shared).
SPLIT_SCHEMES: tuple[int, ...] = (1, 2)
DEFAULT_SPLIT_SCHEME = 2
#: The ordering held out by the ``ordering`` split (index in the canonical order of
#: :func:`ltoefg.data.structures.enumerate_orderings`).
HELD_OUT_ORDERING = 5

IdArray = NDArray[np.int64]


class Split(NamedTuple):
    """A train/test split with its CV folds (all global site ids, sorted).

    Attributes
    ----------
    train, test : numpy.ndarray of int64
    folds : list of (train, val) pairs
        5 pairs; every training id is in exactly one ``val``.
    """

    train: IdArray
    test: IdArray
    folds: list[tuple[IdArray, IdArray]]


def _folds_from_groups(groups: list[IdArray]) -> list[tuple[IdArray, IdArray]]:
    out = []
    for k, val in enumerate(groups):
        rest = [g for j, g in enumerate(groups) if j != k]
        train = np.sort(np.concatenate(rest)) if rest else np.empty(0, np.int64)
        out.append((train, np.sort(val)))
    return out


def make_split(
    kind: str,
    nucleus: str,
    site_species: NDArray[np.str_],
    site_structure: NDArray[np.int64],
    structure_ordering: NDArray[np.int64] | None = None,
    scheme: int = DEFAULT_SPLIT_SCHEME,
) -> Split:
    """Generate a split from the site table.

    Parameters
    ----------
    kind : str
        ``"random"``, ``"structure"`` or ``"ordering"``.
    nucleus : str
        ``"Li"``, ``"Ti"`` or ``"O"``.
    site_species : numpy.ndarray of str, shape (N,)
        Chemical symbol of every site (indexed by site_id).
    site_structure : numpy.ndarray of int, shape (N,)
        Structure index of every site.
    structure_ordering : numpy.ndarray of int, shape (S,), optional
        16d ordering of every structure (required by ``"ordering"``).
    scheme : int
        2 (default): the ``structure`` split shares one structure permutation
        across nuclei; 1: as ``pcm-v1`` was frozen (per-nucleus permutation).
    """
    if scheme not in SPLIT_SCHEMES:
        raise DataError(f"unknown split scheme {scheme!r}; known: {SPLIT_SCHEMES}.")
    if kind not in C.SPLITS:
        raise DataError(f"unknown split {kind!r}; known splits: {', '.join(C.SPLITS)}.")
    if nucleus not in C.NUCLEI:
        raise DataError(f"unknown nucleus {nucleus!r}; known nuclei: {', '.join(C.NUCLEI)}.")
    ids = np.flatnonzero(np.asarray(site_species) == nucleus).astype(np.int64)
    if ids.size == 0:
        raise DataError(f"the data set has no {nucleus} sites.")
    rng = np.random.default_rng([SPLIT_SEED, C.SPLITS.index(kind), C.NUCLEI.index(nucleus)])
    structure_of = np.asarray(site_structure)[ids]
    if kind == "random":
        perm = rng.permutation(ids)
        n_test = int(round(C.TEST_FRACTION * ids.size))
        test, train = perm[:n_test], perm[n_test:]
        groups = np.array_split(train, C.N_FOLDS)
    elif kind == "structure":
        if scheme == 1:
            structures = np.unique(structure_of)
        else:  # every structure of the data set, one permutation for all nuclei
            structures = np.unique(np.asarray(site_structure))
            rng = np.random.default_rng([SPLIT_SEED, C.SPLITS.index(kind)])
        perm = rng.permutation(structures)
        n_test = int(round(C.TEST_FRACTION * structures.size))
        test_structures = perm[:n_test]
        test = ids[np.isin(structure_of, test_structures)]
        train = ids[~np.isin(structure_of, test_structures)]
        groups = [ids[np.isin(structure_of, g)] for g in np.array_split(perm[n_test:], C.N_FOLDS)]
    else:
        if structure_ordering is None:
            raise DataError("the 'ordering' split needs the per-structure 16d ordering.")
        ordering_of = np.asarray(structure_ordering)[structure_of]
        test = ids[ordering_of == HELD_OUT_ORDERING]
        train = ids[ordering_of != HELD_OUT_ORDERING]
        remaining = [o for o in np.unique(ordering_of) if o != HELD_OUT_ORDERING]
        if len(remaining) != C.N_FOLDS:
            raise DataError(
                f"the 'ordering' split needs {C.N_FOLDS + 1} orderings, the data set has "
                f"{len(remaining) + 1}."
            )
        groups = [ids[ordering_of == o] for o in remaining]
    return Split(np.sort(train), np.sort(test), _folds_from_groups([np.asarray(g) for g in groups]))


def split_key(kind: str, nucleus: str, part: str) -> str:
    """Key of an array in a frozen splits file, e.g. ``random/Li/test``, ``random/Li/fold3/val``."""
    return f"{kind}/{nucleus}/{part}"


def to_arrays(splits: dict[tuple[str, str], Split]) -> dict[str, IdArray]:
    """Flatten splits {(kind, nucleus): Split} into named arrays for ``numpy.savez``."""
    out: dict[str, IdArray] = {}
    for (kind, nucleus), sp in splits.items():
        out[split_key(kind, nucleus, "train")] = sp.train
        out[split_key(kind, nucleus, "test")] = sp.test
        for k, (_, val) in enumerate(sp.folds):
            out[split_key(kind, nucleus, f"fold{k}/val")] = val
    return out


def from_arrays(arrays: dict[str, IdArray], kind: str, nucleus: str) -> Split:
    """Rebuild one :class:`Split` from frozen arrays (fold train sets are train minus val)."""
    key = split_key(kind, nucleus, "train")
    if key not in arrays:
        raise DataError(f"the frozen splits have no {kind!r} split for {nucleus}.")
    train = arrays[key]
    vals = [arrays[split_key(kind, nucleus, f"fold{k}/val")] for k in range(C.N_FOLDS)]
    folds = [(np.setdiff1d(train, v, assume_unique=True), v) for v in vals]
    return Split(train, arrays[split_key(kind, nucleus, "test")], folds)


def save_frozen(path: str | Path, arrays: dict[str, IdArray]) -> None:
    """Write frozen split arrays (compressed npz)."""
    with open(path, "wb") as fh:
        np.savez_compressed(
            fh, **{k: np.asarray(v, dtype=np.int64) for k, v in sorted(arrays.items())}
        )


def load_frozen(path: str | Path) -> dict[str, IdArray]:
    """Read frozen split arrays written by :func:`save_frozen`."""
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}
