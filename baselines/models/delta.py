"""Δ-learning on a physics prior: Ewald point-charge EFG with fitted scale factors + λ-SOAP.

Prior
-----
The Ewald EFG of :func:`ltoefg.data.pointcharge.ewald_efg` is linear in the
charges, so the EFG at site i of any charges that are the same for all atoms of
a species is Σ_s a_s E_s(i), where E_s(i) is the (traceless) EFG at i of
*unit* charges on every atom of species s (all periodic images, the site's own
images included, its own charge excluded), in V/Å² per e. One nucleus gets
one prior,

    V_prior(i) = Σ_s a_s E_s(i),     s ∈ {Li, Ti, O},

with three free "effective charges" a_s (units of e) fitted by least squares
to the training tensors (their 5 real-spherical components, i.e. the
Frobenius norm of the traceless tensors). They absorb a Sternheimer-like
factor of the nucleus and a per-species charge renormalisation. The three
fields are computed once per structure for all its atoms (three Ewald sums,
each vectorised over sites; :class:`FieldCache` keeps them).

On ``pcm-*`` data the labels *are* such a prior — formal charges (Li +1,
Ti +4, O −2) times (1 − γ∞) of the nucleus (Li 0.729, Ti and O 1) — so the
fitted factors come out at 0.729 × (1, 4, −2) for ⁷Li and (1, 4, −2) for ⁴⁷Ti
and ¹⁷O, and the residual vanishes (a plumbing check, tested). On DFT labels
the prior is the electrostatic lattice part that a local model cannot see,
with its scale fitted, and the λ-SOAP model learns what is left.

Model
-----
:class:`DeltaTensorModel`: prediction = V_prior + a λ-SOAP SA-GPR
(:class:`baselines.models.soap.TensorSoapModel`) of the residual V − V_prior. The
prior fields rotate with the structure and the factors are scalars, so the
sum is exactly equivariant. Saved like the other baselines (``.npz``, kind
``DeltaTensorModel``, readable by :func:`baselines.models.soap.load_model` once
this module is imported).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ase
import numpy as np
from numpy.typing import ArrayLike, NDArray

from baselines.engine.features import Descriptors, _as_centres
from baselines.models import soap as _models
from baselines.models.soap import Hypers, TensorSoapModel
from ltoefg.data.pointcharge import ewald_efg
from ltoefg.tensors import symmetric_traceless, to_spherical

__all__ = [
    "PRIOR_SPECIES",
    "DeltaDescriptors",
    "DeltaTensorModel",
    "FieldCache",
    "fit_scale_factors",
    "prior_efg",
    "species_fields",
]

#: Species whose unit-charge Ewald fields make the prior, in coefficient order.
PRIOR_SPECIES: tuple[str, ...] = ("Li", "Ti", "O")


def species_fields(
    atoms: ase.Atoms, species: Sequence[str] = PRIOR_SPECIES, tol: float = 1e-10
) -> NDArray[np.float64]:
    """Ewald EFG of unit charges on each species alone, at every atom.

    Parameters
    ----------
    atoms : ase.Atoms
        A 3D-periodic structure, Å.
    species : sequence of str
        Chemical symbols; a species absent from ``atoms`` gives a zero field.
    tol : float
        Ewald convergence tolerance (:func:`ltoefg.data.pointcharge.ewald_efg`).

    Returns
    -------
    numpy.ndarray, shape (N, S, 3, 3)
        E_s(i) in V/Å² per elementary charge, traceless (the isotropic
        background term of the charged sub-lattice is removed).
    """
    symbols = np.asarray(atoms.get_chemical_symbols())
    out = np.zeros((len(atoms), len(species), 3, 3))
    for k, s in enumerate(species):
        charges = (symbols == s).astype(np.float64)
        if charges.any():
            out[:, k] = ewald_efg(atoms, charges, tol=tol)
    return out


class FieldCache:
    """Per-structure :func:`species_fields` of a list of structures, computed once each.

    Parameters
    ----------
    frames : sequence of ase.Atoms
    species : sequence of str
    """

    def __init__(self, frames: Sequence[ase.Atoms], species: Sequence[str] = PRIOR_SPECIES):
        self.frames = frames
        self.species = tuple(species)
        self._fields: dict[int, NDArray[np.float64]] = {}

    def get(self, centres: ArrayLike) -> NDArray[np.float64]:
        """Fields at the (structure, atom) rows ``centres``, shape (n, S, 3, 3), V/Å² per e."""
        cen = _as_centres(self.frames, centres)
        out = np.empty((len(cen), len(self.species), 3, 3))
        for s in np.unique(cen[:, 0]):
            s = int(s)
            if s not in self._fields:
                self._fields[s] = species_fields(self.frames[s], self.species)
            rows = np.flatnonzero(cen[:, 0] == s)
            out[rows] = self._fields[s][cen[rows, 1]]
        return out


def fit_scale_factors(fields: NDArray[np.float64], efg: ArrayLike) -> NDArray[np.float64]:
    """Least-squares effective charges a_s of V ≈ Σ_s a_s E_s.

    Parameters
    ----------
    fields : numpy.ndarray, shape (n, S, 3, 3)
        Unit-charge fields E_s at the training sites, V/Å² per e.
    efg : array_like, shape (n, 3, 3)
        Training tensors, V/Å² (only the symmetric traceless part is fitted).

    Returns
    -------
    numpy.ndarray, shape (S,)
        a_s in e, minimising Σ_i ‖P(V_i) − Σ_s a_s E_s(i)‖²_F.
    """
    n, n_species = fields.shape[:2]
    design = to_spherical(fields.reshape(-1, 3, 3)).reshape(n, n_species, 5)
    design = design.transpose(0, 2, 1).reshape(5 * n, n_species)
    target = to_spherical(symmetric_traceless(np.asarray(efg, dtype=np.float64))).reshape(-1)
    return np.linalg.lstsq(design, target, rcond=None)[0]


def prior_efg(fields: NDArray[np.float64], factors: ArrayLike) -> NDArray[np.float64]:
    """Σ_s a_s E_s(i), shape (n, 3, 3), V/Å²."""
    return np.einsum("nsab,s->nab", fields, np.asarray(factors, dtype=np.float64))


@dataclass
class DeltaDescriptors(Descriptors):
    """:class:`~baselines.engine.features.Descriptors` plus the prior's unit-charge fields.

    Attributes
    ----------
    fields : numpy.ndarray, shape (n, S, 3, 3), or None
        :func:`species_fields` at the centres, V/Å² per e.
    """

    fields: NDArray[np.float64] | None = None

    def subset(self, index: ArrayLike) -> DeltaDescriptors:
        """Rows ``index`` (any numpy index) as a new :class:`DeltaDescriptors`."""
        idx = np.asarray(index)
        return DeltaDescriptors(**{k: None if v is None else v[idx] for k, v in vars(self).items()})


class DeltaTensorModel(TensorSoapModel):
    """Point-charge prior with fitted effective charges + λ-SOAP SA-GPR of the residual.

    Parameters
    ----------
    hypers : Hypers, optional
        λ-SOAP and GPR hyperparameters of the residual model.
    batch_size, chunk_size : int
        As for :class:`baselines.models.soap.TensorSoapModel`.

    Attributes
    ----------
    scale_factors_ : numpy.ndarray, shape (3,)
        Fitted a_s (e) for :data:`PRIOR_SPECIES`.
    """

    _kind = "DeltaTensorModel"

    def __init__(
        self, hypers: Hypers | None = None, *, batch_size: int = 100, chunk_size: int = 2048
    ) -> None:
        super().__init__(hypers, batch_size=batch_size, chunk_size=chunk_size)
        self.scale_factors_: NDArray[np.float64] | None = None

    def descriptors(
        self,
        frames: Sequence[ase.Atoms],
        centres: ArrayLike | int | str,
        fields: FieldCache | None = None,
    ) -> DeltaDescriptors:
        """λ-SOAP descriptors and prior fields of ``centres`` (``fields``: a shared cache)."""
        base = super().descriptors(frames, centres)
        cache = fields if fields is not None else FieldCache(frames)
        return DeltaDescriptors(**vars(base), fields=cache.get(base.centres))

    @staticmethod
    def _fields(desc: Descriptors) -> NDArray[np.float64]:
        if not isinstance(desc, DeltaDescriptors) or desc.fields is None:
            raise ValueError("prior fields missing (use DeltaTensorModel.descriptors)")
        return desc.fields

    def prior(self, desc: Descriptors) -> NDArray[np.float64]:
        """The fitted prior Σ_s a_s E_s at the centres of ``desc``, (n, 3, 3), V/Å²."""
        if self.scale_factors_ is None:
            raise RuntimeError("the model is not fitted")
        return prior_efg(self._fields(desc), self.scale_factors_)

    def fit_descriptors(self, desc: Descriptors, efg: ArrayLike) -> DeltaTensorModel:
        """Fit the factors, then the λ-SOAP model of the residual, on (n, 3, 3) tensors (V/Å²)."""
        efg = np.asarray(efg, dtype=np.float64)
        self.scale_factors_ = fit_scale_factors(self._fields(desc), efg)
        super().fit_descriptors(desc, symmetric_traceless(efg) - self.prior(desc))
        return self

    def predict_spherical(self, desc: Descriptors) -> NDArray[np.float64]:
        """Predicted λ = 2 components (n, 5), V/Å²: prior + residual model."""
        return to_spherical(self.prior(desc)) + super().predict_spherical(desc)

    def _arrays(self) -> dict[str, NDArray]:
        arrays = super()._arrays()
        arrays["scale_factors"] = np.asarray(self.scale_factors_)
        arrays["prior_species_json"] = np.array(json.dumps(list(PRIOR_SPECIES)))
        return arrays

    @classmethod
    def _from_arrays(cls, hypers: Hypers, z: Mapping[str, NDArray]) -> DeltaTensorModel:
        species = json.loads(str(z["prior_species_json"]))
        if tuple(species) != PRIOR_SPECIES:
            raise ValueError(f"model prior species {species} differ from {list(PRIOR_SPECIES)}")
        model = super()._from_arrays(hypers, z)
        model.scale_factors_ = np.array(z["scale_factors"], dtype=np.float64)
        return model


# make baselines.models.soap.load_model read this kind
_models._KINDS[DeltaTensorModel._kind] = DeltaTensorModel
