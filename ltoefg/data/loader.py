"""Open a data-set version: ``ltoefg.load("pcm-v1")`` (SPEC §5)."""

from __future__ import annotations

import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms
from ase.data import chemical_symbols
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.data import fetch as _fetch
from ltoefg.data import h5format, registry, splits
from ltoefg.errors import DataError


class SupersededWarning(UserWarning):
    """Opening a data-set version that a newer release replaces."""


class Dataset:
    """An opened LTO-EFG data-set version.

    Use :func:`load` to create one. ``site_id`` is the global row index into
    :attr:`efg` and :attr:`sites`.

    Attributes
    ----------
    name : str
        Version name.
    path : pathlib.Path
        The HDF5 file.
    label_method, label_description : str
        How the EFG labels were made (``pcm-v1``: point charges, not DFT).
    """

    def __init__(
        self, path: str | Path, frozen_splits: Path | None = None, split_scheme: int = 2
    ) -> None:
        self.path = Path(path)
        self._data = h5format.read(self.path)
        self._frozen_splits = frozen_splits
        self._split_scheme = split_scheme
        self.name = self._data.name
        self.label_method = self._data.label_method
        self.label_description = self._data.label_description

    def __repr__(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        return f"<ltoefg.Dataset {self.name!r}: {self.n_structures} structures, {counts}>"

    @property
    def n_structures(self) -> int:
        """Number of structures."""
        return self._data.n_structures

    @property
    def n_sites(self) -> int:
        """Number of sites (= tensors)."""
        return self._data.n_sites

    @property
    def efg(self) -> NDArray[np.float64]:
        """EFG tensors, shape (N, 3, 3), V/Å²; ``efg[site_id]`` is that site's tensor."""
        return self._data.efg

    @property
    def generator_parameters(self) -> dict:
        """Parameters of the generator or importer that made the file."""
        return self._data.generator_parameters

    @cached_property
    def species(self) -> NDArray[np.str_]:
        """Chemical symbol of every site, shape (N,)."""
        return np.asarray(chemical_symbols, dtype=object)[self._data.numbers].astype(str)

    @cached_property
    def site_structure(self) -> NDArray[np.int64]:
        """Structure index of every site, shape (N,)."""
        counts = np.diff(self._data.offsets)
        return np.repeat(np.arange(counts.size, dtype=np.int64), counts)

    @cached_property
    def sites(self) -> pd.DataFrame:
        """Site table: ``site_id``, ``structure``, ``atom_index``, ``species``, ``wyckoff``."""
        structure = self.site_structure
        atom_index = np.arange(self.n_sites) - self._data.offsets[structure]
        return pd.DataFrame(
            {
                C.COL_SITE_ID: np.arange(self.n_sites, dtype=np.int64),
                C.COL_STRUCTURE: structure,
                C.COL_ATOM_INDEX: atom_index.astype(np.int64),
                C.COL_SPECIES: self.species,
                C.COL_WYCKOFF: self._data.wyckoff,
            }
        )

    @property
    def structure_table(self) -> pd.DataFrame:
        """Per-structure metadata (ordering, scale, strain, rattle amplitude, …)."""
        return self._data.structure_table

    def counts(self) -> dict[str, int]:
        """Sites per nucleus."""
        return {k: int(v["n"]) for k, v in self._data.stats.items()}

    def stats(self, nucleus: str) -> tuple[float, float]:
        """(μ, σ) of |Vzz| for ``nucleus`` in V/Å², frozen in the file."""
        try:
            s = self._data.stats[nucleus]
        except KeyError:
            raise DataError(f"{self.path}: the data set has no {nucleus!r} sites.") from None
        return float(s["mu"]), float(s["sigma"])

    def site_ids(self, nucleus: str) -> NDArray[np.int64]:
        """Sorted site ids of one nucleus."""
        return np.flatnonzero(self.species == nucleus).astype(np.int64)

    def atoms(self, i: int) -> Atoms:
        """Structure ``i`` as ase.Atoms with arrays ``efg`` (V/Å²), ``site_id``, ``wyckoff``."""
        if not 0 <= i < self.n_structures:
            raise DataError(
                f"{self.path}: no structure {i} (the data set has {self.n_structures})."
            )
        d = self._data
        lo, hi = int(d.offsets[i]), int(d.offsets[i + 1])
        at = Atoms(
            numbers=d.numbers[lo:hi], positions=d.positions[lo:hi], cell=d.cells[i], pbc=d.pbc[i]
        )
        at.new_array("efg", d.efg[lo:hi].copy())
        at.new_array("site_id", np.arange(lo, hi, dtype=np.int64))
        at.new_array("wyckoff", d.wyckoff[lo:hi].copy())
        at.info["structure"] = i
        if not d.structure_table.empty:
            at.info.update(
                {
                    k: v.item() if hasattr(v, "item") else v
                    for k, v in d.structure_table.iloc[i].items()
                }
            )
        return at

    def structures(self) -> list[Atoms]:
        """All structures (see :meth:`atoms`)."""
        return [self.atoms(i) for i in range(self.n_structures)]

    @cached_property
    def _frozen(self) -> dict[str, NDArray[np.int64]] | None:
        return None if self._frozen_splits is None else splits.load_frozen(self._frozen_splits)

    def split(self, kind: str, nucleus: str) -> splits.Split:
        """Train/test split with 5 CV folds of ``nucleus`` (global site ids).

        Registered versions return their frozen lists (verified by SHA-256);
        other files generate them with :func:`ltoefg.data.splits.make_split`.
        """
        if self._frozen is not None:
            if kind not in C.SPLITS:
                raise DataError(f"unknown split {kind!r}; known splits: {', '.join(C.SPLITS)}.")
            return splits.from_arrays(self._frozen, kind, nucleus)
        return self.generate_split(kind, nucleus)

    def generate_split(self, kind: str, nucleus: str) -> splits.Split:
        """Regenerate a split from the site table (what the frozen lists were made from)."""
        table = self.structure_table
        ordering = table["ordering"].to_numpy() if "ordering" in table else None
        return splits.make_split(
            kind, nucleus, self.species, self.site_structure, ordering, self._split_scheme
        )


def load(version: str | Path = C.DEFAULT_DATASET, progress: bool = False) -> Dataset:
    """Open a data-set version (fetching and verifying it if needed) or a local file.

    Parameters
    ----------
    version : str or pathlib.Path
        A registered version name (default ``"pcm-v2"``) or the path of an
        ltoefg HDF5 file (e.g. one written by ``ltoefg build --magres``).
    progress : bool
        Show a download progress bar.

    Returns
    -------
    Dataset
    """
    if isinstance(version, Path) or str(version).endswith((".h5", ".hdf5")):
        return Dataset(Path(version))
    entry = registry.get(str(version))
    if entry.superseded_by:
        warnings.warn(
            f"data-set version {entry.name!r} is superseded by {entry.superseded_by!r}; it "
            f"stays available for reproducing old results, but use "
            f"ltoefg.load({entry.superseded_by!r}) for new work.",
            SupersededWarning,
            stacklevel=2,
        )
    path = _fetch.fetch(entry.name, progress=progress)
    frozen = None
    if entry.splits is not None:
        frozen = _fetch.verify(registry.FILES_DIR / entry.splits.filename, entry.splits.sha256)
    return Dataset(path, frozen_splits=frozen, split_scheme=entry.split_scheme)
