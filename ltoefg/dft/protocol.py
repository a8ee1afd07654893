"""The DFT protocol: one frozen, named set of Elk (FP-LAPW) settings.

A :class:`Protocol` holds every setting that changes a label: the species
files (shipped in ``ltoefg/dft/species/``, each with its SHA-256), the
exchange-correlation functional, the basis (``rgkmax``, ``lmaxapw``,
``gmaxvr``, ``nempty``), the k-point mesh, smearing, mixing, the SCF stop
(``epspot``, ``epsengy``, ``maxscl``) and the stop on the change of the EFGs
themselves (:class:`EfgStop`). It is immutable; variants (convergence study,
validation crystals) are made with :meth:`Protocol.replace`, which requires a
new name, so a name always means one set of numbers. :meth:`Protocol.elk_blocks`
renders the settings as ``elk.in`` blocks.

The production protocol is :data:`PRODUCTION` (``elk-pbe-v1``); its numbers
stand in one place, the defaults of :class:`Protocol`. :data:`VALIDATION` is the
protocol of the small validation crystals (no EFG stop; they converge on
``epspot``); each crystal sets its own k-mesh with ``replace``.

Units: Elk's atomic units (energies in hartree, lengths in bohr), except the
EFG-stop tolerances (V/Å², the package's EFG unit).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltoefg.dft.errors import DftInputError

__all__ = [
    "PRODUCTION",
    "PROTOCOLS",
    "SPECIES",
    "SPECIES_DIR",
    "VALIDATION",
    "EfgStop",
    "Protocol",
    "SpeciesFile",
    "get_protocol",
    "register_protocol",
]

#: Folder of the species files shipped with the package (Elk 8.4.30's, GPL-3+).
SPECIES_DIR = Path(__file__).resolve().parent / "species"


@dataclass(frozen=True)
class SpeciesFile:
    """One Elk species file shipped in :data:`SPECIES_DIR`.

    Attributes
    ----------
    element : str
        Chemical symbol.
    filename : str
        File name in :data:`SPECIES_DIR` (Elk's ``spfname``).
    sha256 : str
        SHA-256 of the file (lower-case hex); the runner refuses another file.
    """

    element: str
    filename: str
    sha256: str


#: The species files of Debian's elk-lapw 8.4.30 (``/usr/share/elk-lapw/species``).
SPECIES: tuple[SpeciesFile, ...] = (
    SpeciesFile("Li", "Li.in", "c208fa7b3a5609ec5a92074a1993d142a4c830d480c2524a24e8e94e8a12a967"),
    SpeciesFile("Ti", "Ti.in", "089a20649d0afce4c040205fce79c28952bb9c2305be7323ac7cc6ddbfe70891"),
    SpeciesFile("O", "O.in", "c1bc1d90f74761b61ebd58d24b039f3032925b94866619be15232d11972cff5f"),
    SpeciesFile("Si", "Si.in", "e1a2718cdd95ce354e1976a1f307317ef34a8505aa437e93ad8e1641bb21c284"),
    SpeciesFile("N", "N.in", "1266dfc7109cf4bcd185fc7ce3981e55e8ad7a85575118cd796abaaee4a8a068"),
)


@dataclass(frozen=True)
class EfgStop:
    """Stop the SCF when the EFGs stop changing (checked by the runner's monitor).

    After every SCF iteration ``n`` the runner computes the EFG of the saved
    state (Elk task 115); the change at ``n`` is, per element, the largest
    ``|ΔV_ij|`` over the sites of that element between the EFG at ``n`` and at
    ``n − window``. The SCF is stopped when every element's change is below its
    tolerance at ``consecutive`` consecutive checks.

    Attributes
    ----------
    window : int
        Iterations between the two EFGs compared.
    tolerance : dict
        Element -> largest allowed ``|ΔV_ij|``, V/Å². An element without an
        entry must satisfy :attr:`default_tolerance`.
    consecutive : int
        Consecutive checks that must pass.
    default_tolerance : float
        Tolerance of elements not in ``tolerance``, V/Å².
    """

    window: int = 3
    tolerance: dict[str, float] = field(default_factory=dict)
    consecutive: int = 2
    default_tolerance: float = 0.1

    def __post_init__(self) -> None:
        if self.window < 1 or self.consecutive < 1:
            raise DftInputError("the EFG stop needs window ≥ 1 and consecutive ≥ 1.")
        if any(not t > 0 for t in self.tolerance.values()) or not self.default_tolerance > 0:
            raise DftInputError("the EFG stop's tolerances must be positive (V/Å²).")

    def tol(self, element: str) -> float:
        """Tolerance of ``element``, V/Å²."""
        return float(self.tolerance.get(element, self.default_tolerance))


@dataclass(frozen=True)
class Protocol:
    """Every Elk setting that changes an EFG label.

    Attributes
    ----------
    name : str
        Unique name; results record it, data sets cite it.
    description : str
        One sentence: what the protocol is for.
    species : tuple of SpeciesFile
        Species files (in :data:`SPECIES_DIR`) the protocol may use.
    xctype : int
        Elk's exchange-correlation functional (20 = PBE).
    lmaxi : int
        Angular momentum of the inner muffin-tin density and potential (2:
        Elk's EFG task needs the l = 2 part, which Elk's default 1 drops).
    rgkmax : float
        R_MT,min × max|G+k|, the APW basis cut-off (dimensionless).
    ngridk : tuple of int
        k-point mesh.
    vkloff : tuple of float
        k-mesh offset, in units of the mesh spacing (0 0 0: Γ-centred).
    stype : int
        Smearing: 0 Gaussian, 1–2 Methfessel-Paxton, 3 Fermi-Dirac.
    swidth : float
        Smearing width, Ha.
    mixtype : int
        Potential mixing: 0 linear, 1 adaptive linear, 3 Broyden.
    broydpm : tuple of float
        Broyden mixing parameters (α, w0).
    mixsdb : int
        Broyden subspace dimension.
    nempty : float
        Empty states per atom (Elk's default 4).
    lmaxapw : int
        Angular momentum cut-off of the APW functions.
    gmaxvr : float
        Largest |G| of the interstitial density and potential, bohr⁻¹.
    epspot : float
        SCF stop: RMS change of the Kohn–Sham potential.
    epsengy : float
        SCF stop: change of the total energy, Ha (1e9: off; on LTO cells Elk's
        total energy keeps moving by 1e-3 Ha after the potential has converged).
    maxscl : int
        Largest number of SCF iterations of one Elk run.
    nwrite : int
        STATE.OUT is written every this many iterations (1: after every one,
        which the EFG stop and the resume need).
    efg_stop : EfgStop or None
        Stop on the change of the EFGs (None: converge on ``epspot`` only).
    """

    name: str
    description: str = ""
    species: tuple[SpeciesFile, ...] = SPECIES
    xctype: int = 20
    lmaxi: int = 2
    # The defaults are the production settings (elk-pbe-v1): the one place to edit
    # them after the convergence study.
    rgkmax: float = 6.0
    ngridk: tuple[int, int, int] = (2, 2, 1)
    vkloff: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stype: int = 3  # Fermi-Dirac
    swidth: float = 0.005  # Ha
    mixtype: int = 3  # Broyden
    broydpm: tuple[float, float] = (0.1, 0.05)
    mixsdb: int = 8
    nempty: float = 4.0  # Elk's default
    lmaxapw: int = 8
    gmaxvr: float = 12.0
    epspot: float = 1e-6
    epsengy: float = 1e9  # off: Elk's energy criterion is never met on LTO cells
    maxscl: int = 80
    nwrite: int = 1
    efg_stop: EfgStop | None = field(
        default_factory=lambda: EfgStop(
            window=3, tolerance={"Li": 0.02, "Ti": 0.5, "O": 0.5}, consecutive=2
        )
    )

    def __post_init__(self) -> None:
        if not self.name:
            raise DftInputError("a DFT protocol needs a name.")
        if len(self.ngridk) != 3 or min(self.ngridk) < 1:
            raise DftInputError(f"protocol {self.name!r}: ngridk must be three integers ≥ 1.")
        if len(self.vkloff) != 3 or len(self.broydpm) != 2:
            raise DftInputError(f"protocol {self.name!r}: vkloff needs 3, broydpm 2 numbers.")
        if self.lmaxi < 2:
            raise DftInputError(
                f"protocol {self.name!r}: lmaxi must be ≥ 2 (Elk's EFG needs the l = 2 density)."
            )
        if self.nwrite != 1 and self.efg_stop is not None:
            raise DftInputError(f"protocol {self.name!r}: the EFG stop needs nwrite 1.")

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements the protocol has species files for."""
        return tuple(s.element for s in self.species)

    def species_file(self, element: str) -> SpeciesFile:
        """The species file of ``element``.

        Raises
        ------
        DftInputError
            If the protocol has no species file for the element.
        """
        for s in self.species:
            if s.element == element:
                return s
        raise DftInputError(
            f"protocol {self.name!r} has no Elk species file for {element}; it covers "
            f"{', '.join(self.elements)}."
        )

    def elk_blocks(self) -> str:
        """The settings as ``elk.in`` blocks (without ``tasks``, ``sppath`` and the geometry)."""

        def block(key: str, *values: Any) -> str:
            return f"{key}\n  " + "  ".join(_fmt(v) for v in values) + "\n\n"

        return "".join(
            [
                block("xctype", self.xctype),
                block("lmaxi", self.lmaxi),
                block("rgkmax", self.rgkmax),
                block("ngridk", *self.ngridk),
                block("vkloff", *self.vkloff),
                block("stype", self.stype),
                block("swidth", self.swidth),
                block("mixtype", self.mixtype),
                block("broydpm", *self.broydpm),
                block("mixsdb", self.mixsdb),
                block("nempty", self.nempty),
                block("lmaxapw", self.lmaxapw),
                block("gmaxvr", self.gmaxvr),
                block("epspot", self.epspot),
                block("epsengy", self.epsengy),
                block("maxscl", self.maxscl),
                block("nwrite", self.nwrite),
            ]
        )

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
        for key in ("ngridk", "vkloff", "broydpm"):
            d[key] = list(d[key])
        d["species"] = [dataclasses.asdict(s) for s in self.species]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Protocol:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["species"] = tuple(SpeciesFile(**s) for s in d["species"])
        d["ngridk"] = tuple(int(k) for k in d["ngridk"])
        d["vkloff"] = tuple(float(k) for k in d["vkloff"])
        d["broydpm"] = tuple(float(k) for k in d["broydpm"])
        if d.get("efg_stop") is not None:
            d["efg_stop"] = EfgStop(**d["efg_stop"])
        return cls(**d)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return ".true." if v else ".false."
    if isinstance(v, float):
        return repr(v)
    return str(v)


#: The production protocol of ``dft-pbe-v1``: Elk all-electron FP-LAPW, PBE.
PRODUCTION = Protocol(
    name="elk-pbe-v1",
    description=(
        "Elk 8.4.30 all-electron FP-LAPW, PBE, lmaxi 2, Debian species files; SCF stopped "
        "when the EFGs stop changing (see docs/dft.md for the convergence study)"
    ),
)

#: Validation crystals (rutile, stishovite, Li₃N, Li₂O): the production basis and
#: smearing, no EFG stop, converged on the potential; k-mesh set per crystal.
VALIDATION = PRODUCTION.replace(
    "elk-pbe-validation",
    description="small validation crystals: production basis, converged on epspot 1e-6",
    efg_stop=None,
    maxscl=200,
)

#: Registered protocols by name.
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (PRODUCTION, VALIDATION)}


def register_protocol(protocol: Protocol) -> Protocol:
    """Register a protocol (e.g. a convergence-study variant) so that it is found by name.

    Re-registering the same settings under the same name is allowed.

    Raises
    ------
    DftInputError
        If another protocol with other settings has that name.
    """
    known = PROTOCOLS.get(protocol.name)
    if known is not None and known != protocol:
        raise DftInputError(
            f"a protocol named {protocol.name!r} with other settings is registered; "
            "choose a new name."
        )
    PROTOCOLS[protocol.name] = protocol
    return protocol


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
