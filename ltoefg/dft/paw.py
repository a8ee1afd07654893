"""PAW augmentation spheres of the protocol's datasets and ABINIT's overlap check.

ABINIT (``chkpawovlp``, m_paw_tools.F90) stops a PAW run when two augmentation
spheres overlap by more than ``pawovlp`` per cent (default 5), measured as the
*voluminal* overlap: the volume of the lens shared by the two spheres over the
volume of the smaller sphere. :func:`max_overlap_percent` computes the same
number in Python, so that a structure generator can guarantee that every
structure is computable before any DFT runs.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from numpy.typing import NDArray
from scipy import constants

#: Bohr radius in Å (CODATA, from scipy.constants).
BOHR_IN_ANGSTROM = constants.physical_constants["Bohr radius"][0] * 1e10

#: PAW sphere radii r_PAW (bohr) of the datasets of the ABINIT protocol, read from
#: Debian's abinit-data files: ``li.PBE.atompaw.paw`` (r_cut(PAW) 1.8192155411),
#: ``ti.hpc.paw`` (2.3118202211), ``Pseudodojo_paw_pbe_standard/O.xml``
#: (paw_radius rc 1.4146523028). A test checks them against the files where
#: abinit-data is installed.
PAW_RADII_BOHR: dict[str, float] = {"Li": 1.8192155411, "Ti": 2.3118202211, "O": 1.4146523028}

#: ABINIT's default ``pawovlp``: the largest voluminal overlap (%) it accepts.
ABINIT_DEFAULT_PAWOVLP = 5.0


def lens_overlap_percent(
    r_a: NDArray[np.float64], r_b: NDArray[np.float64], d: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ABINIT's voluminal overlap of two spheres, per cent (vectorised).

    Parameters
    ----------
    r_a, r_b : numpy.ndarray
        Sphere radii (any common length unit).
    d : numpy.ndarray
        Centre distances (same unit), > 0.

    Returns
    -------
    numpy.ndarray
        100 · V_lens / min(V_a, V_b), capped at 100; 0 where d ≥ r_a + r_b and
        100 where one sphere lies inside the other (d ≤ |r_a − r_b|).
    """
    r_a, r_b, d = np.broadcast_arrays(
        np.asarray(r_a, float), np.asarray(r_b, float), np.asarray(d, float)
    )
    h_a = (r_b**2 - (d - r_a) ** 2) / (2 * d)
    h_b = (r_a**2 - (d - r_b) ** 2) / (2 * d)
    lens = np.pi / 3 * (h_a**2 * (3 * r_a - h_a) + h_b**2 * (3 * r_b - h_b))
    v_min = 4.0 / 3.0 * np.pi * np.minimum(r_a, r_b) ** 3
    pct = np.minimum(100.0 * lens / v_min, 100.0)
    pct = np.where(d <= np.abs(r_a - r_b), 100.0, pct)
    return np.where(d < r_a + r_b, pct, 0.0)


def max_overlap_percent(atoms: Atoms, radii_bohr: dict[str, float] | None = None) -> float:
    """Largest PAW-sphere voluminal overlap (%) between any two atoms of a periodic cell.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure (positions in Å).
    radii_bohr : dict, optional
        r_PAW per element symbol (bohr); default :data:`PAW_RADII_BOHR`.

    Returns
    -------
    float
        The value ABINIT compares with ``pawovlp`` (0 when no spheres overlap).
    """
    from ase.neighborlist import neighbor_list

    radii = PAW_RADII_BOHR if radii_bohr is None else radii_bohr
    symbols = atoms.get_chemical_symbols()
    r = np.array([radii[s] for s in symbols]) * BOHR_IN_ANGSTROM
    i, j, d = neighbor_list("ijd", atoms, 2.0 * float(r.max()))
    if d.size == 0:
        return 0.0
    return float(lens_overlap_percent(r[i], r[j], d).max())
