"""The DFT protocol: one frozen, named set of ABINIT settings (SPEC §4.6).

A :class:`Protocol` holds every setting that changes a label: the PAW datasets
(file names and SHA-256 of Debian's ``abinit-data`` files), the plane-wave and
fine-grid cutoffs, the k-point mesh, the SCF mixing and tolerances, the band
rule, and the EFG output switches. It is immutable; variants for a convergence
study are made with :meth:`Protocol.replace`, which requires a new name, so a
name always means one set of numbers. The production protocol is
:data:`PRODUCTION` (its choice is documented in ``docs/dft.md``).

Units: energies in hartree (Ha), quadrupole moments in barn (ABINIT's
``quadmom`` unit), point charges in units of e.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ltoefg.data.pointcharge import FORMAL_CHARGES
from ltoefg.dft.errors import DftInputError
from ltoefg.dft.paw import PAW_RADII_BOHR
from ltoefg.nmr import ISOTOPES

__all__ = [
    "DATASETS",
    "PRODUCTION",
    "PROTOCOLS",
    "PawDataset",
    "Protocol",
    "get_protocol",
]


@dataclass(frozen=True)
class PawDataset:
    """One PAW dataset file of Debian's ``abinit-data`` (``/usr/share/abinit/psp``).

    Attributes
    ----------
    element : str
        Chemical symbol.
    filename : str
        Path relative to the psp folder.
    sha256 : str
        SHA-256 of the file (lower-case hex); the runner refuses another file.
    z_valence : float
        Valence electrons (``zion`` of the file): Li 3 (1s in valence), Ti 12
        (3s3p semicore), O 6.
    r_paw_bohr : float
        Radius of the PAW augmentation sphere, bohr.
    """

    element: str
    filename: str
    sha256: str
    z_valence: float
    r_paw_bohr: float


#: The PAW-PBE datasets of the protocol, in ABINIT type order (Li, Ti, O).
DATASETS: tuple[PawDataset, ...] = (
    PawDataset(
        "Li",
        "li.PBE.atompaw.paw",
        "9ede01ce2e1e7d8187d1e5f053fd8d5029ec54e82383c54f4493e6855948ffc7",
        3.0,
        PAW_RADII_BOHR["Li"],
    ),
    PawDataset(
        "Ti",
        "ti.hpc.paw",
        "25fbc711797bbf808bd90f9edd8c892a3c51256c6f239ebfcc122a4ccb3e37a8",
        12.0,
        PAW_RADII_BOHR["Ti"],
    ),
    PawDataset(
        "O",
        "Pseudodojo_paw_pbe_standard/O.xml",
        "19c808ad43a7aa14d25549d43409ad620ccbbd978b6fa2ad5630863131bf0515",
        6.0,
        PAW_RADII_BOHR["O"],
    ),
)

#: Nuclear quadrupole moments in barn for ABINIT's ``quadmom`` (only the CQ that
#: ABINIT prints depends on them; the stored tensors do not): ⁷Li, ⁴⁷Ti, ¹⁷O of
#: :data:`ltoefg.nmr.ISOTOPES` (Pyykkö 2018), mb → b.
QUADMOM_BARN: dict[str, float] = {el: iso.quadrupole_mb / 1000.0 for el, iso in ISOTOPES.items()}


@dataclass(frozen=True)
class Protocol:
    """Every ABINIT setting that changes an EFG label.

    Attributes
    ----------
    name : str
        Unique name; results record it, data sets cite it.
    description : str
        One sentence: what the protocol is for.
    datasets : tuple of PawDataset
        PAW datasets, in ABINIT type order.
    ixc : int
        Exchange-correlation functional (11 = PBE, the functional of the datasets).
    ecut_ha : float
        Plane-wave cutoff, Ha.
    pawecutdg_ha : float
        Cutoff of the PAW fine (double) grid, Ha.
    kmesh : tuple of int
        Γ-centred Monkhorst-Pack mesh (``ngkpt``; ``shiftk 0 0 0``).
    occopt : int
        Occupations: 1 fixed (insulator); 3, 4, 7 smeared (with ``tsmear_ha``).
    tsmear_ha : float
        Smearing width, Ha (only written when ``occopt`` is not 1).
    nband_extra_fraction, nband_extra_min : float, int
        Band rule: ``nband = n_occ + max(nband_extra_min, ceil(fraction · n_occ))``
        with ``n_occ = n_electrons / 2`` (a few empty bands show the gap).
    iscf : int
        SCF algorithm (17: Pulay mixing of the density, ABINIT's PAW default).
    diemac : float
        Model dielectric constant of the preconditioner (1e6, ABINIT's default:
        metallic screening; on LTO it converged in fewer steps than 4, 10 or 30,
        see docs/dft.md).
    npulayit : int
        Number of previous densities in Pulay mixing.
    tolvrs : float
        SCF stops when the squared density residual ``nres2`` is below this
        (1e-7: tensors within 1e-4 relative of a 1e-9 run, docs/dft.md).
    nstep : int
        Maximum SCF steps of one ABINIT run (a run that hits it is not converged).
    usexcnhat : int
        0: XC without the compensation density (the Li dataset needs it).
    pawovlp : float
        Largest PAW-sphere voluminal overlap ABINIT accepts (%); 5 = ABINIT's default.
    prtefg : int
        3: total EFG plus the point-charge EFG of ``ptcharge``.
    ptcharge : dict
        Point charges per element (e) for ABINIT's point-charge EFG: the formal
        charges of the ``pcm`` labels.
    quadmom_barn : dict
        Quadrupole moments per element, barn (ABINIT's printed CQ only).
    checkpoint_every : int
        The density is saved every this many SCF steps (``prtden -N``), so an
        interrupted run restarts from it.
    chkprim : int
        0: accept non-primitive cells (ABINIT's default 1 would stop).
    use_symmetry : bool
        Let ABINIT find and use the crystal's symmetry (False: ``nsym 1``; the
        rattled LTO structures have none anyway).
    """

    name: str
    description: str = ""
    datasets: tuple[PawDataset, ...] = DATASETS
    ixc: int = 11
    ecut_ha: float = 15.0
    pawecutdg_ha: float = 30.0
    kmesh: tuple[int, int, int] = (3, 3, 1)
    occopt: int = 7
    tsmear_ha: float = 0.005
    nband_extra_fraction: float = 0.05
    nband_extra_min: int = 4
    iscf: int = 17
    diemac: float = 1e6
    npulayit: int = 7
    tolvrs: float = 1e-7
    nstep: int = 100
    usexcnhat: int = 0
    pawovlp: float = 5.0
    prtefg: int = 3
    ptcharge: dict[str, float] = field(default_factory=lambda: dict(FORMAL_CHARGES))
    quadmom_barn: dict[str, float] = field(default_factory=lambda: dict(QUADMOM_BARN))
    checkpoint_every: int = 5
    chkprim: int = 0
    use_symmetry: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise DftInputError("a DFT protocol needs a name.")
        if self.pawecutdg_ha < self.ecut_ha:
            raise DftInputError(
                f"protocol {self.name!r}: pawecutdg ({self.pawecutdg_ha} Ha) must be at least "
                f"ecut ({self.ecut_ha} Ha)."
            )
        if len(self.kmesh) != 3 or min(self.kmesh) < 1:
            raise DftInputError(f"protocol {self.name!r}: kmesh must be three integers ≥ 1.")

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements the protocol has datasets for, in type order."""
        return tuple(d.element for d in self.datasets)

    def dataset(self, element: str) -> PawDataset:
        """The PAW dataset of ``element``.

        Raises
        ------
        DftInputError
            If the protocol has no dataset for the element.
        """
        for d in self.datasets:
            if d.element == element:
                return d
        raise DftInputError(
            f"protocol {self.name!r} has no PAW dataset for {element}; it covers "
            f"{', '.join(self.elements)}."
        )

    def nband(self, symbols: list[str] | tuple[str, ...]) -> int:
        """Number of bands for a structure with these atoms (the band rule).

        Parameters
        ----------
        symbols : sequence of str
            Chemical symbols of all atoms.
        """
        n_el = sum(self.dataset(s).z_valence for s in symbols)
        n_occ = math.ceil(n_el / 2.0)
        return n_occ + max(self.nband_extra_min, math.ceil(self.nband_extra_fraction * n_occ))

    def replace(self, name: str, **changes: Any) -> Protocol:
        """A variant of this protocol under a new name (e.g. for a convergence study).

        Parameters
        ----------
        name : str
            New name; must differ from this protocol's name.
        **changes
            Fields to change (see the class attributes).
        """
        if name == self.name:
            raise DftInputError(f"a changed protocol needs a new name, not {name!r}.")
        return dataclasses.replace(self, name=name, **changes)

    def to_dict(self) -> dict[str, Any]:
        """All settings as a JSON-serialisable dict (recorded with every result)."""
        d = dataclasses.asdict(self)
        d["kmesh"] = list(self.kmesh)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Protocol:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["datasets"] = tuple(PawDataset(**x) for x in d["datasets"])
        d["kmesh"] = tuple(int(k) for k in d["kmesh"])
        return cls(**d)


#: The production protocol of ``dft-pbe-v1`` (chosen by the convergence study in
#: docs/dft.md): PAW-PBE, 15 Ha / 30 Ha, Γ-centred 3×3×1, Gaussian smearing 0.005 Ha.
PRODUCTION = Protocol(
    name="abinit-paw-pbe-v1",
    description=(
        "ABINIT PAW-PBE (Debian abinit-data: li.PBE.atompaw.paw, ti.hpc.paw, "
        "Pseudodojo_paw_pbe_standard/O.xml), ecut 15 Ha, pawecutdg 30 Ha, Gamma-centred "
        "3x3x1 k-mesh, Gaussian smearing 0.005 Ha, Pulay density mixing, tolvrs 1e-7"
    ),
)

#: Registered protocols by name.
PROTOCOLS: dict[str, Protocol] = {PRODUCTION.name: PRODUCTION}


def get_protocol(name: str) -> Protocol:
    """The registered protocol ``name``.

    Raises
    ------
    DftInputError
        If no protocol has that name (the message lists the known ones).
    """
    try:
        return PROTOCOLS[name]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise DftInputError(f"unknown DFT protocol {name!r}; known protocols: {known}.") from None
