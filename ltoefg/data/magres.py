"""Import CASTEP ``.magres`` files (EFG tensors in atomic units) with ase."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.errors import DataError


class MagresError(DataError):
    """A ``.magres`` file that cannot be used (unreadable, or without EFG tensors)."""


def read_magres(path: str | Path) -> tuple[ase.Atoms, NDArray[np.float64]]:  # noqa: F821
    """Read a CASTEP ``.magres`` file and return its structure and EFG tensors in V/Å².

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.magres`` file with an ``efg`` block (CASTEP writes ``units efg au``).

    Returns
    -------
    atoms : ase.Atoms
        The structure as ase reads it (the ``efg`` array is removed; the tensors
        are returned separately).
    efg : numpy.ndarray, shape (N, 3, 3)
        EFG tensors in V/Å² (1 a.u. = 97.1736242 V/Å²).

    Raises
    ------
    MagresError
        If the file cannot be parsed, has no EFG block, uses an EFG unit other
        than atomic units, or holds a NaN or infinite EFG element.
    """
    import ase.io

    path = Path(path)
    try:
        atoms = ase.io.read(path, format="magres")
    except Exception as exc:  # ase raises many types for malformed input
        raise MagresError(
            f"{path}: not a readable CASTEP .magres file ({exc}); check the file or re-export it."
        ) from None
    if "efg" not in atoms.arrays:
        raise MagresError(f"{path}: the .magres file has no EFG block; run CASTEP with EFG output.")
    unit = atoms.info.get("magres_units", {}).get("efg", "au")
    if unit != "au":
        raise MagresError(f"{path}: EFG unit {unit!r} is not supported; expected 'au'.")
    efg = np.asarray(atoms.arrays.pop("efg"), dtype=np.float64) * EFG_AU_IN_V_PER_A2
    bad = ~np.isfinite(efg).all(axis=(1, 2))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise MagresError(
            f"{path}: {int(bad.sum())} EFG tensors hold NaN or inf (first: atom {first + 1}, "
            f"{atoms.get_chemical_symbols()[first]}); re-run or re-export the calculation."
        )
    return atoms, efg
