"""λ-SOAP + LODE: local λ-SOAP joined with long-range LODE λ = 2 coefficients.

A 5 Å λ-SOAP environment cannot see the 1/r³ tail of the EFG from charges
beyond its cutoff. LODE (long-distance equivariant features, Grisafi &
Ceriotti, J. Chem. Phys. 151, 204105 (2019); featomic's
``LodeSphericalExpansion``) expands, around every centre i, the Coulomb
potential of the *whole periodic structure*, one neighbour species s at a time:

    V_s(r) = Σ_{j ∈ s, images} φ_σ(|r − r_j|),   φ_σ(r) = erf(r/(√2 σ))/r  (smeared 1/r)

on a radial (GTO, ``radius``) × real-spherical-harmonic basis, computed by an
Ewald-like reciprocal-space sum. Its λ = 2 coefficients L_{s,n,m}(i) are
*linear* in the charges and, for charges outside the basis functions' range,
*exactly* proportional to the λ = 2 (quadrupolar) part of their potential at
i, i.e. to their EFG: the multipole expansion of 1/|r − R| has the r² Y₂ₘ(r̂)
term R⁻³ Y₂ₘ(R̂). So a linear map of 3 species × ``n_max`` LODE λ = 2
coefficients can represent a point-charge EFG including its whole lattice
tail; charges close to the centre enter through the radial functions.

Features (decision, measured on pcm-v2 ⁷Li, 1200 training / 1000 test sites,
800 active environments; point-charge labels, not DFT): per centre the 5 × F
matrix

    X₂ = [ c₁ · P / ‖P‖_F ,  c₂ · s · L ],   c₁ = 1/√(1 + w²),  c₂ = w/√(1 + w²),

where P is the λ-SOAP power spectrum of :mod:`baselines.engine.features` (unit
Frobenius norm, as before) and L the raw LODE λ = 2 coefficients (featomic
units), scaled by *one* number s per model, s = 1/√(mean over the training
centres of ‖L‖²_F), fixed at fit time and saved with the model. L is not
normalised per environment: that would divide out the magnitude of the
long-range EFG, which is exactly what it should carry. The SA-GPR kernel of
:mod:`baselines.engine.kernels` is unchanged,

    K₂(X, X') = (c₁² P̂ P̂'ᵀ + c₂² s² L L'ᵀ) · k₀(X, X')^(ζ−1),

so the LODE part is a linear model in L whose "effective charges" vary
smoothly with the local environment (through k₀) — the Sternheimer-like
screening a DFT EFG needs. Both parts rotate with the same Wigner matrix
(featomic's real spherical harmonics, m = −2 … 2, the order of
:func:`ltoefg.tensors.to_spherical`), so predictions are exactly equivariant.
Measured alternatives (same data): plain λ-SOAP ωQ MAE 20.5 kHz; this join
(σ_LODE 0.6 Å, radius 2 Å) 0.9 kHz, nearly independent of w ∈ [0.5, 2];
the normalised ρ⊗V λ = 2 power spectrum (TENSOAP's LODE(1,1) design, density
⊗ potential, featomic ``EquivariantPowerSpectrum(SphericalExpansion,
LodeSphericalExpansion)``) concatenated with λ-SOAP 3.8 kHz, ρ⊗V alone 8.4
kHz. A *linear* fit on L alone gives 0.01 kHz at σ_LODE 0.3 Å, radius 2 Å —
on point-charge labels the LODE coefficients nearly *are* the labels.

Cost: the reciprocal sum runs over |k| < 1.2π/σ_LODE (featomic's default), so
the time per structure grows as σ_LODE⁻³ (42-atom cells, 2 cores: ≈ 6 ms at
0.6 Å, 70 ms at 0.3 Å) and barely with the number of centres; only λ = 2
blocks and the requested centres are computed.

This module imports featomic and metatensor (run from a checkout, like the
rest of ``baselines``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ase
import numpy as np
from numpy.typing import ArrayLike, NDArray

from baselines.engine.features import (
    DEFAULT_SPECIES,
    Descriptors,
    SoapHypers,
    _as_centres,
    _check_species,
)
from baselines.models import soap as _models
from baselines.models.soap import Hypers, TensorSoapModel

__all__ = [
    "LodeDescriptors",
    "LodeHypers",
    "LodeTensorModel",
    "join_features",
    "lode_coefficients",
    "lode_scale",
]


@dataclass(frozen=True)
class LodeHypers:
    """Hyperparameters of the LODE part.

    Parameters
    ----------
    smearing : float
        Gaussian smearing σ of the point charges, Å (featomic ``SmearedPowerLaw``).
    radius : float
        Radius of the GTO radial basis the potential is expanded on, Å.
    n_max : int
        Number of radial basis functions (featomic ``max_radial = n_max - 1``).
    weight : float
        Relative weight w of the LODE block against the λ-SOAP block (see module doc).
    exponent : int
        Power p of the potential 1/r^p (1: Coulomb, whose λ = 2 part is the EFG).
    k_cutoff : float or None
        Reciprocal-space cutoff, 1/Å (None: featomic's 1.2π/σ).
    species : tuple of int
        Atomic numbers of the neighbour species whose potentials are expanded, sorted.
    """

    smearing: float = 0.6
    radius: float = 2.0
    n_max: int = 5
    weight: float = 1.0
    exponent: int = 1
    k_cutoff: float | None = None
    species: tuple[int, ...] = DEFAULT_SPECIES

    def __post_init__(self) -> None:
        if self.smearing <= 0 or self.radius <= 0:
            raise ValueError("smearing and radius must be positive (Å)")
        if self.n_max < 1 or self.weight < 0 or self.exponent < 1:
            raise ValueError("need n_max ≥ 1, weight ≥ 0 and exponent ≥ 1")
        # the species rules of the λ-SOAP descriptors (sorted, unique atomic numbers)
        object.__setattr__(self, "species", SoapHypers(species=self.species).species)

    def featomic_hypers(self) -> dict:
        """Keyword arguments of ``featomic.LodeSphericalExpansion`` (λ ≤ 2 only).

        The centre's own smeared charge is spherical, so it has no λ = 2 part;
        its weight is set to 0.
        """
        kw: dict = {
            "density": {
                "type": "SmearedPowerLaw",
                "smearing": float(self.smearing),
                "exponent": int(self.exponent),
                "center_atom_weight": 0.0,
            },
            "basis": {
                "type": "TensorProduct",
                "max_angular": 2,
                "radial": {"type": "Gto", "max_radial": int(self.n_max) - 1, "radius": self.radius},
            },
        }
        if self.k_cutoff is not None:
            kw["k_cutoff"] = float(self.k_cutoff)
        return kw

    @property
    def n_features(self) -> int:
        """Number of LODE λ = 2 channels (species × radial functions)."""
        return len(self.species) * self.n_max

    # plain-JSON form with the conventions of baselines.models.soap.Hypers (species as a list;
    # unknown keys are an error): the same generic dataclass code serves both
    to_dict = Hypers.to_dict
    from_dict = classmethod(Hypers.from_dict.__func__)  # type: ignore[attr-defined]


def lode_coefficients(
    frames: Sequence[ase.Atoms],
    centres: ArrayLike | int | str,
    hypers: LodeHypers,
    batch_size: int = 50,
) -> NDArray[np.float64]:
    """Raw LODE λ = 2 coefficients of selected centres.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        3D-periodic structures, Å.
    centres : array_like (n, 2) of int, or int / str
        (structure index, atom index) rows, or a species (every atom of it).
    hypers : LodeHypers
    batch_size : int
        Structures per featomic call.

    Returns
    -------
    numpy.ndarray, shape (n, 5, len(species) · n_max)
        Rows in the order of ``centres``; components m = −2 … 2; columns
        species-major, radial-minor (featomic units: the potential of unit
        charges, projected on normalised basis functions). A species absent
        from a structure gives zeros.
    """
    import featomic
    from metatensor import Labels

    frames = list(frames)
    cen = _as_centres(frames, centres)
    _check_species(frames, hypers.species)
    if len(cen) == 0:
        raise ValueError("no centres selected")
    numbers = np.array([frames[s].numbers[a] for s, a in cen], dtype=np.int64)
    calc = featomic.LodeSphericalExpansion(**hypers.featomic_hypers())
    keys = Labels(
        ["o3_lambda", "o3_sigma", "center_type", "neighbor_type"],
        np.array(
            [[2, 1, c, z] for c in np.unique(numbers) for z in hypers.species], dtype=np.int32
        ),
    )
    stride = max(len(f) for f in frames)
    out = np.zeros((len(cen), 5, hypers.n_features))
    structures = np.unique(cen[:, 0])
    for start in range(0, len(structures), batch_size):
        chunk = structures[start : start + batch_size]
        rows = np.flatnonzero(np.isin(cen[:, 0], chunk))
        local = np.unique(cen[rows], axis=0)
        local[:, 0] = np.searchsorted(chunk, local[:, 0])
        tm = calc.compute(
            [frames[s] for s in chunk],
            selected_samples=Labels(["system", "atom"], local.astype(np.int32)),
            selected_keys=keys,
        )
        for key, block in tm.items():
            centre_type, neighbour = int(key["center_type"]), int(key["neighbor_type"])
            wanted = rows[numbers[rows] == centre_type]
            samples = np.asarray(block.samples.values, dtype=np.int64)
            if not len(wanted) or not len(samples):
                continue
            got = chunk[samples[:, 0]] * stride + samples[:, 1]
            order = np.argsort(got)
            pos = np.searchsorted(got[order], cen[wanted, 0] * stride + cen[wanted, 1])
            pos = np.minimum(pos, len(got) - 1)
            if np.any(got[order][pos] != cen[wanted, 0] * stride + cen[wanted, 1]):
                raise RuntimeError("featomic did not return every requested LODE centre")
            k = hypers.species.index(neighbour)
            cols = slice(k * hypers.n_max, (k + 1) * hypers.n_max)
            out[wanted, :, cols] = np.asarray(block.values)[order[pos]]
    return out


def lode_scale(lode: NDArray[np.float64]) -> float:
    """s = 1/√(mean ‖L‖²_F) over the rows of ``lode`` (0 if all rows vanish)."""
    ms = float(np.mean(np.einsum("imf,imf->i", lode, lode))) if len(lode) else 0.0
    return 1.0 / np.sqrt(ms) if ms > 0 else 0.0


def join_features(
    x2: NDArray[np.float64], lode: NDArray[np.float64], scale: float, weight: float
) -> NDArray[np.float64]:
    """[c₁ · x2, c₂ · scale · lode] along the feature axis (module doc), shape (n, 5, F2 + FL)."""
    c1 = 1.0 / np.sqrt(1.0 + weight * weight)
    c2 = weight * c1
    return np.concatenate([c1 * x2, (c2 * scale) * lode], axis=2)


@dataclass
class LodeDescriptors(Descriptors):
    """:class:`~baselines.engine.features.Descriptors` plus the raw LODE λ = 2 coefficients.

    Attributes
    ----------
    lode : numpy.ndarray, shape (n, 5, FL), or None
        From :func:`lode_coefficients`.
    """

    lode: NDArray[np.float64] | None = None

    def subset(self, index: ArrayLike) -> LodeDescriptors:
        """Rows ``index`` (any numpy index) as a new :class:`LodeDescriptors`."""
        idx = np.asarray(index)
        return LodeDescriptors(**{k: None if v is None else v[idx] for k, v in vars(self).items()})


class LodeTensorModel(TensorSoapModel):
    """SA-GPR of the traceless EFG on joined λ-SOAP + LODE λ = 2 features (module doc).

    Parameters
    ----------
    hypers : Hypers, optional
        λ-SOAP descriptor and GPR hyperparameters (:class:`baselines.models.soap.Hypers`).
    lode : LodeHypers, optional
    batch_size : int
        Structures per featomic call.
    chunk_size : int
        Kernel rows per chunk.

    Attributes
    ----------
    lode_scale_ : float
        Scale s of the LODE coefficients, fixed at fit time (1/featomic units).
    """

    _kind = "LodeTensorModel"

    def __init__(
        self,
        hypers: Hypers | None = None,
        lode: LodeHypers | None = None,
        *,
        batch_size: int = 100,
        chunk_size: int = 2048,
    ) -> None:
        super().__init__(hypers, batch_size=batch_size, chunk_size=chunk_size)
        self.lode = lode if lode is not None else LodeHypers()
        self.lode_scale_: float | None = None

    def descriptors(
        self, frames: Sequence[ase.Atoms], centres: ArrayLike | int | str
    ) -> LodeDescriptors:
        """λ-SOAP descriptors and LODE coefficients of ``centres``."""
        base = super().descriptors(frames, centres)
        lode = lode_coefficients(frames, base.centres, self.lode)
        return LodeDescriptors(**vars(base), lode=lode)

    def _joined(self, desc: Descriptors) -> Descriptors:
        if not isinstance(desc, LodeDescriptors) or desc.lode is None or desc.x2 is None:
            raise ValueError("λ-SOAP and LODE descriptors are both needed (see descriptors())")
        if desc.lode.shape[1:] != (5, self.lode.n_features):
            raise ValueError(f"LODE features of shape {desc.lode.shape[1:]} do not fit the hypers")
        assert self.lode_scale_ is not None
        x2 = join_features(desc.x2, desc.lode, self.lode_scale_, self.lode.weight)
        return Descriptors(centres=desc.centres, x0=desc.x0, x2=x2, numbers=desc.numbers)

    def fit_descriptors(self, desc: Descriptors, efg: ArrayLike) -> LodeTensorModel:
        """Fit on :class:`LodeDescriptors` and (n, 3, 3) tensors in V/Å²."""
        if isinstance(desc, LodeDescriptors) and desc.lode is not None:
            self.lode_scale_ = lode_scale(desc.lode)
        super().fit_descriptors(self._joined(desc), efg)
        return self

    def predict_spherical(self, desc: Descriptors) -> NDArray[np.float64]:
        """Predicted λ = 2 components (n, 5), V/Å², from :class:`LodeDescriptors`."""
        if self.lode_scale_ is None:
            raise RuntimeError("the model is not fitted")
        return super().predict_spherical(self._joined(desc))

    def _arrays(self) -> dict[str, NDArray]:
        arrays = super()._arrays()
        arrays["lode_hypers_json"] = np.array(json.dumps(self.lode.to_dict()))
        arrays["lode_scale"] = np.array(self.lode_scale_)
        return arrays

    @classmethod
    def _from_arrays(cls, hypers: Hypers, z: Mapping[str, NDArray]) -> LodeTensorModel:
        model = super()._from_arrays(hypers, z)
        model.lode = LodeHypers.from_dict(json.loads(str(z["lode_hypers_json"])))
        model.lode_scale_ = float(z["lode_scale"])
        return model


# make baselines.models.soap.load_model read this kind
_models._KINDS[LodeTensorModel._kind] = LodeTensorModel
