"""The HDF5 file format of an LTO-EFG data-set version (SPEC §4.3).

One file per version. Flat per-site arrays plus per-structure arrays with CSR
offsets, gzip-compressed (with the shuffle filter). Layout (format version 1)::

    /                      attrs: name, format_version, label_method, label_description,
                                  units, creator, creator_version, generator_parameters (JSON),
                                  stats (JSON: nucleus -> {mu, sigma, n}), mu_<X>, sigma_<X>
    /structures/offsets    (S+1,) int64   CSR: sites of structure s are offsets[s]:offsets[s+1]
    /structures/cell       (S, 3, 3) float64, Å (rows are lattice vectors)
    /structures/pbc        (S, 3) bool
    /structures/table/<c>  (S,) one dataset per per-structure metadata column
    /sites/numbers         (N,) int64 atomic numbers
    /sites/positions       (N, 3) float64, Å (Cartesian)
    /sites/wyckoff         (N,) bytes, e.g. b"8a", b"16d", b"32e" ("" if unknown)
    /sites/efg             (N, 3, 3) float64, V/Å²

The global row index of ``/sites`` is the stable ``site_id``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import DataError

FORMAT_VERSION = 1
_COMPRESSION = {"compression": "gzip", "compression_opts": 6, "shuffle": True}


@dataclass
class DatasetArrays:
    """Everything a data-set file holds, in memory.

    Attributes
    ----------
    name : str
        Data-set version name, e.g. ``"pcm-v1"``.
    label_method : str
        Short identifier of how the EFG labels were made (e.g. ``"point-charge-ewald"``).
    label_description : str
        Plain-words description of the labels (says whether they are DFT or not).
    offsets : numpy.ndarray, shape (S + 1,)
        CSR offsets of the structures into the site arrays.
    cells : numpy.ndarray, shape (S, 3, 3)
        Lattice vectors (rows), Å.
    pbc : numpy.ndarray, shape (S, 3)
    numbers : numpy.ndarray, shape (N,)
    positions : numpy.ndarray, shape (N, 3)
        Cartesian positions, Å.
    wyckoff : numpy.ndarray, shape (N,)
        Wyckoff labels (str), ``""`` where unknown.
    efg : numpy.ndarray, shape (N, 3, 3)
        EFG tensors, V/Å².
    structure_table : pandas.DataFrame
        One row per structure (generator metadata); may have no columns.
    generator_parameters : dict
        JSON-serialisable parameters of the generator or importer.
    stats : dict
        nucleus -> {"mu": float, "sigma": float, "n": int} of |Vzz| (V/Å²).
    creator_version : str
        ltoefg version that wrote the file.
    """

    name: str
    label_method: str
    label_description: str
    offsets: NDArray[np.int64]
    cells: NDArray[np.float64]
    pbc: NDArray[np.bool_]
    numbers: NDArray[np.int64]
    positions: NDArray[np.float64]
    wyckoff: NDArray[np.str_]
    efg: NDArray[np.float64]
    structure_table: pd.DataFrame = field(default_factory=pd.DataFrame)
    generator_parameters: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    creator_version: str = ""

    @property
    def n_structures(self) -> int:
        """Number of structures S."""
        return int(self.offsets.size - 1)

    @property
    def n_sites(self) -> int:
        """Number of sites N."""
        return int(self.numbers.size)


def vzz_statistics(
    efg: NDArray[np.float64], numbers: NDArray[np.int64]
) -> dict[str, dict[str, float]]:
    """Mean and population std (ddof = 0) of |Vzz| per nucleus present (V/Å²).

    Parameters
    ----------
    efg : numpy.ndarray, shape (N, 3, 3)
        EFG tensors, V/Å².
    numbers : numpy.ndarray, shape (N,)
        Atomic numbers.
    """
    from ase.data import atomic_numbers

    from ltoefg.nmr import principal_axes

    vzz = np.abs(principal_axes(efg).vzz)
    out: dict[str, dict[str, float]] = {}
    for nucleus in C.NUCLEI:
        mask = numbers == atomic_numbers[nucleus]
        if mask.any():
            out[nucleus] = {
                "mu": float(vzz[mask].mean()),
                "sigma": float(vzz[mask].std(ddof=0)),
                "n": int(mask.sum()),
            }
    return out


def write(path: str | Path, data: DatasetArrays) -> Path:
    """Write a data-set file atomically (temporary file, then rename).

    The |Vzz| statistics are computed here from ``data.efg`` and stored in the
    file attributes (``data.stats`` is ignored on writing).

    Parameters
    ----------
    path : str or pathlib.Path
        Destination ``.h5`` file; its directory must exist.
    data : DatasetArrays

    Returns
    -------
    pathlib.Path
        The written path.
    """
    from ltoefg.version import __version__

    path = Path(path)
    stats = vzz_statistics(data.efg, data.numbers)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp_name, "w") as f:
            text = {
                "name": data.name,
                "label_method": data.label_method,
                "label_description": data.label_description,
                "units": C.EFG_UNIT,
                "creator": "ltoefg",
                "creator_version": __version__,
                "generator_parameters": json.dumps(data.generator_parameters, sort_keys=True),
                "stats": json.dumps(stats, sort_keys=True),
            }
            for key, value in text.items():
                # fixed-length UTF-8: corrupted variable-length string attributes can hang
                # the HDF5 C library (HDFGroup/hdf5#1707); fixed-length ones cannot
                f.attrs[key] = np.bytes_(value.encode("utf-8"))
            f.attrs["format_version"] = FORMAT_VERSION
            for nucleus, s in stats.items():
                f.attrs[f"mu_{nucleus}"] = s["mu"]
                f.attrs[f"sigma_{nucleus}"] = s["sigma"]
            g = f.create_group("structures")
            g.create_dataset("offsets", data=np.asarray(data.offsets, np.int64))
            g.create_dataset("cell", data=np.asarray(data.cells, np.float64), **_COMPRESSION)
            g.create_dataset("pbc", data=np.asarray(data.pbc, bool))
            t = g.create_group("table")
            for col in data.structure_table.columns:
                values = data.structure_table[col].to_numpy()
                if values.dtype == object:
                    values = values.astype("S")
                t.create_dataset(col, data=values)
            s = f.create_group("sites")
            s.create_dataset("numbers", data=np.asarray(data.numbers, np.int64), **_COMPRESSION)
            s.create_dataset(
                "positions", data=np.asarray(data.positions, np.float64), **_COMPRESSION
            )
            s.create_dataset("wyckoff", data=np.asarray(data.wyckoff).astype("S4"), **_COMPRESSION)
            s.create_dataset("efg", data=np.asarray(data.efg, np.float64), **_COMPRESSION)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _attr_str(attrs: Mapping[str, Any], key: str) -> str:
    value = attrs[key]
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read(path: str | Path) -> DatasetArrays:
    """Read a data-set file, refusing unknown format versions.

    Parameters
    ----------
    path : str or pathlib.Path

    Raises
    ------
    DataError
        If the file is not a readable HDF5 data-set file or has an unknown
        format version.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            version = int(f.attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise DataError(
                    f"{path}: data-set format version {version} is not supported by this "
                    f"ltoefg (it reads version {FORMAT_VERSION}); upgrade ltoefg or rebuild "
                    "the file."
                )
            table = pd.DataFrame(
                {
                    k: (v[()].astype(str) if v.dtype.kind == "S" else v[()])
                    for k, v in f["structures/table"].items()
                }
            )
            return DatasetArrays(
                name=_attr_str(f.attrs, "name"),
                label_method=_attr_str(f.attrs, "label_method"),
                label_description=_attr_str(f.attrs, "label_description"),
                offsets=f["structures/offsets"][()],
                cells=f["structures/cell"][()],
                pbc=f["structures/pbc"][()],
                numbers=f["sites/numbers"][()],
                positions=f["sites/positions"][()],
                wyckoff=f["sites/wyckoff"][()].astype(str),
                efg=f["sites/efg"][()],
                structure_table=table,
                generator_parameters=json.loads(_attr_str(f.attrs, "generator_parameters")),
                stats=json.loads(_attr_str(f.attrs, "stats")),
                creator_version=_attr_str(f.attrs, "creator_version"),
            )
    except DataError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"{path}: not a readable ltoefg data-set file ({exc}); fetch it again "
            "(`ltoefg fetch`) or rebuild it (`ltoefg generate` / `ltoefg build`)."
        ) from None


def from_structures(
    name: str,
    label_method: str,
    label_description: str,
    structures: list[Any],
    efg: NDArray[np.float64],
    structure_table: pd.DataFrame | None = None,
    generator_parameters: dict[str, Any] | None = None,
) -> DatasetArrays:
    """Assemble :class:`DatasetArrays` from a list of ase.Atoms and their stacked EFGs.

    Parameters
    ----------
    name, label_method, label_description : str
        File metadata.
    structures : list of ase.Atoms
        Structures in data-set order; a ``"wyckoff"`` per-atom array is used if present.
    efg : numpy.ndarray, shape (N, 3, 3)
        EFG tensors of all atoms of all structures, concatenated in order, V/Å².
    structure_table : pandas.DataFrame, optional
        Per-structure metadata (one row per structure).
    generator_parameters : dict, optional
    """
    counts = np.array([len(a) for a in structures], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    if efg.shape != (offsets[-1], 3, 3):
        raise ValueError(f"efg has shape {efg.shape}, expected ({offsets[-1]}, 3, 3)")
    wyckoff = np.concatenate(
        [
            np.asarray(a.arrays["wyckoff"], dtype=str)
            if "wyckoff" in a.arrays
            else np.full(len(a), "", dtype="<U4")
            for a in structures
        ]
    )
    return DatasetArrays(
        name=name,
        label_method=label_method,
        label_description=label_description,
        offsets=offsets,
        cells=np.array([a.cell.array for a in structures]),
        pbc=np.array([a.pbc for a in structures]),
        numbers=np.concatenate([a.numbers for a in structures]).astype(np.int64),
        positions=np.concatenate([a.positions for a in structures]),
        wyckoff=wyckoff,
        efg=np.asarray(efg, dtype=np.float64),
        structure_table=structure_table if structure_table is not None else pd.DataFrame(),
        generator_parameters=generator_parameters or {},
    )
