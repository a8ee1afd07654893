"""User-level reference models: scalar SOAP GPR and λ-SOAP SA-GPR of EFG tensors.

* :class:`ScalarSoapModel` — sparse GPR on the SOAP kernel k₀ = (x·x')^ζ of one or
  more scalar targets of one nucleus (the paper's scalar learning, §2.4: C̃Q,
  η̃, θ, φ, or ωQ directly). All targets passed to one ``fit`` share the
  hyperparameters, the active set and the matrix factorisation (multiple
  right-hand sides); for per-target hyperparameters use one model per target.
* :class:`TensorSoapModel` — sparse SA-GPR on the λ = 2 kernel
  K₂ = P Pᵀ · k₀^(ζ−1) of the 5 real-spherical components of the symmetric
  traceless EFG (the paper's tensorial learning, §2.5). Input and output
  tensors are Cartesian (n, 3, 3) in V/Å² (any consistent unit works; the
  model is linear in the targets). Predictions are exactly equivariant.

Both models take a list of ``ase.Atoms`` and the centres to learn, as an
(n, 2) array of (structure index, atom index) rows or a species (``"Li"``);
features are computed with :mod:`baselines.engine.features`. For hyperparameter
searches that reuse features across folds, use ``fit_descriptors`` /
``predict_descriptors`` with :func:`baselines.engine.features.compute_descriptors`
(only ``cutoff``, ``sigma``, ``n_max``, ``l_max``, ``cutoff_width``,
``center_atom_weight`` and ``species`` change the features).

Models are saved to a single ``.npz`` file (``save``/``load``, no pickle) holding
the weights, the active environments' features, the hyperparameters, the
target names and :data:`FORMAT_VERSION`; :func:`load_model` refuses any other
format version with a clear message.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import ase
import numpy as np
from numpy.typing import ArrayLike, NDArray

from baselines.engine.features import DEFAULT_SPECIES, Descriptors, SoapHypers, compute_descriptors
from baselines.engine.sparse_gpr import ScalarSparseGPR, TensorSparseGPR
from ltoefg.data.h5format import FORMAT_VERSION as DATA_FORMAT_VERSION
from ltoefg.tensors import from_spherical, symmetric_traceless, to_spherical

__all__ = [
    "FORMAT_VERSION",
    "Hypers",
    "ScalarSoapModel",
    "TensorSoapModel",
    "load_model",
]

#: Version of the ``.npz`` model format written by ``save``.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Hypers:
    """All hyperparameters of a baseline model.

    Parameters
    ----------
    cutoff : float
        Environment cutoff radius, Å.
    sigma : float
        Gaussian width of the atomic densities, Å.
    n_max : int
        Number of radial basis functions.
    l_max : int
        Largest angular channel.
    zeta : float
        Kernel exponent ζ (λ = 2 models need ζ ≥ 1).
    regularisation : float
        Dimensionless noise-to-signal variance ratio of the GPR.
    n_active : int or None
        Number of farthest-point-sampled active environments; None = exact GPR
        on all training environments.
    seed : int
        Seed of the FPS start point (the only random choice).
    cutoff_width : float
        Width of the smooth (shifted-cosine) cutoff, Å.
    center_atom_weight : float
        Weight of the central atom's Gaussian.
    species : tuple of int
        Atomic numbers of all species that may appear as neighbours, sorted.
    jitter : float
        Diagonal jitter of the factorised matrix, kernel units (k(X, X) = 1).
    """

    cutoff: float = 5.0
    sigma: float = 0.4
    n_max: int = 5
    l_max: int = 4
    zeta: float = 2.0
    regularisation: float = 1e-4
    n_active: int | None = 1000
    seed: int = 0
    cutoff_width: float = 0.5
    center_atom_weight: float = 1.0
    species: tuple[int, ...] = DEFAULT_SPECIES
    jitter: float = 1e-12

    def __post_init__(self) -> None:
        object.__setattr__(self, "species", tuple(int(z) for z in self.species))
        self.soap()  # validates the descriptor part

    def soap(self) -> SoapHypers:
        """The descriptor hyperparameters."""
        return SoapHypers(
            cutoff=self.cutoff,
            sigma=self.sigma,
            n_max=self.n_max,
            l_max=self.l_max,
            cutoff_width=self.cutoff_width,
            center_atom_weight=self.center_atom_weight,
            species=self.species,
        )

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        d = dataclasses.asdict(self)
        d["species"] = list(self.species)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> Hypers:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown hyperparameters: {sorted(unknown)}")
        kw = dict(d)
        if "species" in kw:
            kw["species"] = tuple(kw["species"])
        return cls(**kw)


class _ModelBase:
    _kind = ""

    def __init__(
        self, hypers: Hypers | None = None, *, batch_size: int = 100, chunk_size: int = 2048
    ):
        self.hypers = hypers if hypers is not None else Hypers()
        self.batch_size = int(batch_size)
        self.chunk_size = int(chunk_size)
        self.centre_species_: NDArray[np.int64] | None = None
        #: What the model was trained on (data set, label method, nucleus, ...); saved with
        #: the model together with the ltoefg data-format version, which loading checks.
        self.training_data: dict = {}

    def _gpr_kwargs(self) -> dict:
        h = self.hypers
        return {
            "zeta": h.zeta,
            "regularisation": h.regularisation,
            "n_active": h.n_active,
            "seed": h.seed,
            "jitter": h.jitter,
            "chunk_size": self.chunk_size,
        }

    def descriptors(
        self, frames: Sequence[ase.Atoms], centres: ArrayLike | int | str
    ) -> Descriptors:
        """Descriptors this model needs, for ``fit_descriptors``/``predict_descriptors``."""
        return compute_descriptors(
            frames, centres, self.hypers.soap(), lambdas=self._lambdas, batch_size=self.batch_size
        )

    def _record_species(self, desc: Descriptors) -> None:
        if desc.numbers is None:
            self.centre_species_ = np.zeros(0, dtype=np.int64)  # unknown: not checked
        else:
            self.centre_species_ = np.unique(desc.numbers).astype(np.int64)

    def _check_species(self, desc: Descriptors) -> None:
        if self.centre_species_ is None:
            raise RuntimeError("the model is not fitted")
        if desc.numbers is None or self.centre_species_.size == 0:
            return
        extra = set(np.unique(desc.numbers).tolist()) - set(self.centre_species_.tolist())
        if extra:
            raise ValueError(
                f"model was trained on centres of species {self.centre_species_.tolist()}, "
                f"asked to predict species {sorted(extra)}"
            )

    # -- persistence ---------------------------------------------------------

    def _arrays(self) -> dict[str, NDArray]:
        raise NotImplementedError

    def save(self, path: str | PathLike) -> None:
        """Write the fitted model to ``path`` (.npz, no pickle)."""
        if self.centre_species_ is None:
            raise RuntimeError("cannot save an unfitted model")
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "kind": np.array(self._kind),
            "hypers_json": np.array(json.dumps(self.hypers.to_dict())),
            "centre_species": self.centre_species_,
            "training_data_json": np.array(
                json.dumps({**self.training_data, "data_format_version": DATA_FORMAT_VERSION})
            ),
        }
        arrays.update(self._arrays())
        with open(Path(path), "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: str | PathLike):
        """Read a model written by :meth:`save`; refuses other kinds and format versions."""
        model = load_model(path)
        if not isinstance(model, cls):
            raise ValueError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}")
        return model


class ScalarSoapModel(_ModelBase):
    """Scalar SOAP GPR for one nucleus and one or more scalar targets.

    Parameters
    ----------
    hypers : Hypers, optional
    batch_size : int
        Structures per featomic call.
    chunk_size : int
        Environments per kernel chunk.

    Attributes
    ----------
    target_names : list of str
        Names of the targets, in the order given to :meth:`fit`.
    gpr_ : ScalarSparseGPR
    """

    _kind = "ScalarSoapModel"
    _lambdas = (0,)

    def __init__(
        self, hypers: Hypers | None = None, *, batch_size: int = 100, chunk_size: int = 2048
    ):
        super().__init__(hypers, batch_size=batch_size, chunk_size=chunk_size)
        self.target_names: list[str] = []

    def fit(
        self,
        frames: Sequence[ase.Atoms],
        centres: ArrayLike | int | str,
        targets: Mapping[str, ArrayLike],
    ) -> ScalarSoapModel:
        """Fit every target of ``targets`` (name → (n,) values, in the order of ``centres``).

        Units are those of the targets (e.g. radians for θ, φ; kHz for ωQ).
        """
        return self.fit_descriptors(self.descriptors(frames, centres), targets)

    def fit_descriptors(
        self, desc: Descriptors, targets: Mapping[str, ArrayLike]
    ) -> ScalarSoapModel:
        """Fit on precomputed descriptors (see :meth:`descriptors`)."""
        if desc.x0 is None:
            raise ValueError("λ = 0 descriptors missing")
        if not targets:
            raise ValueError("no targets given")
        names = list(targets)
        y = np.column_stack([np.asarray(targets[k], dtype=np.float64).ravel() for k in names])
        if y.shape[0] != len(desc):
            raise ValueError(f"targets have {y.shape[0]} rows, descriptors {len(desc)}")
        self.target_names = names
        self.gpr_ = ScalarSparseGPR(**self._gpr_kwargs()).fit(desc.x0, y)
        self._record_species(desc)
        return self

    def predict(
        self, frames: Sequence[ase.Atoms], centres: ArrayLike | int | str
    ) -> dict[str, NDArray[np.float64]]:
        """Predictions for ``centres``: target name → (n,) array."""
        return self.predict_descriptors(self.descriptors(frames, centres))

    def predict_descriptors(self, desc: Descriptors) -> dict[str, NDArray[np.float64]]:
        """Predictions from precomputed descriptors: target name → (n,) array."""
        if desc.x0 is None:
            raise ValueError("λ = 0 descriptors missing")
        self._check_species(desc)
        pred = self.gpr_.predict(desc.x0)
        return {k: pred[:, i] for i, k in enumerate(self.target_names)}

    def _arrays(self) -> dict[str, NDArray]:
        g = self.gpr_
        return {
            "target_names_json": np.array(json.dumps(self.target_names)),
            "weights": g.weights_,
            "y_mean": np.asarray(g.y_mean_),
            "active_x0": g.active_x_,
            "active_indices": g.active_indices_,
            "exact": np.array(g.exact_),
        }

    @classmethod
    def _from_arrays(cls, hypers: Hypers, z: Mapping[str, NDArray]) -> ScalarSoapModel:
        model = cls(hypers)
        model.target_names = list(json.loads(str(z["target_names_json"])))
        g = ScalarSparseGPR(**model._gpr_kwargs())
        g.weights_ = np.array(z["weights"])
        g.y_mean_ = np.array(z["y_mean"])
        g.active_x_ = np.array(z["active_x0"])
        g.active_indices_ = np.array(z["active_indices"])
        g.exact_ = bool(z["exact"])
        model.gpr_ = g
        return model


class TensorSoapModel(_ModelBase):
    """λ-SOAP SA-GPR of the symmetric traceless EFG tensor of one nucleus.

    The target of each centre is the 5-vector :func:`ltoefg.tensors.to_spherical`
    of the symmetric traceless part of its EFG (any trace or antisymmetric
    part of the input is discarded); predictions are mapped back with
    :func:`ltoefg.tensors.from_spherical`.

    Parameters
    ----------
    hypers : Hypers, optional
    batch_size : int
        Structures per featomic call.
    chunk_size : int
        Kernel rows (5 per environment) per chunk.

    Attributes
    ----------
    gpr_ : TensorSparseGPR
    """

    _kind = "TensorSoapModel"
    _lambdas = (0, 2)

    def fit(
        self, frames: Sequence[ase.Atoms], centres: ArrayLike | int | str, efg: ArrayLike
    ) -> TensorSoapModel:
        """Fit on EFG tensors ``efg`` (n, 3, 3), V/Å², in the order of ``centres``."""
        return self.fit_descriptors(self.descriptors(frames, centres), efg)

    def fit_descriptors(self, desc: Descriptors, efg: ArrayLike) -> TensorSoapModel:
        """Fit on precomputed descriptors (see :meth:`descriptors`) and (n, 3, 3) tensors."""
        if desc.x0 is None or desc.x2 is None:
            raise ValueError("λ = 0 and λ = 2 descriptors are both needed")
        efg = np.asarray(efg, dtype=np.float64)
        if efg.shape != (len(desc), 3, 3):
            raise ValueError(f"efg must have shape ({len(desc)}, 3, 3), got {efg.shape}")
        y = to_spherical(symmetric_traceless(efg))
        self.gpr_ = TensorSparseGPR(**self._gpr_kwargs()).fit(desc.x0, desc.x2, y)
        self._record_species(desc)
        return self

    def predict(
        self, frames: Sequence[ase.Atoms], centres: ArrayLike | int | str
    ) -> NDArray[np.float64]:
        """Predicted symmetric traceless EFG tensors, shape (n, 3, 3), V/Å²."""
        return self.predict_descriptors(self.descriptors(frames, centres))

    def predict_spherical(self, desc: Descriptors) -> NDArray[np.float64]:
        """Predicted λ = 2 components (n, 5) from precomputed descriptors."""
        if desc.x0 is None or desc.x2 is None:
            raise ValueError("λ = 0 and λ = 2 descriptors are both needed")
        self._check_species(desc)
        return self.gpr_.predict(desc.x0, desc.x2)

    def predict_descriptors(self, desc: Descriptors) -> NDArray[np.float64]:
        """Predicted tensors (n, 3, 3), V/Å², from precomputed descriptors."""
        return from_spherical(self.predict_spherical(desc))

    def _arrays(self) -> dict[str, NDArray]:
        g = self.gpr_
        return {
            "weights": g.weights_,
            "active_x0": g.active_x0_,
            "active_x2": g.active_x2_,
            "active_indices": g.active_indices_,
            "exact": np.array(g.exact_),
        }

    @classmethod
    def _from_arrays(cls, hypers: Hypers, z: Mapping[str, NDArray]) -> TensorSoapModel:
        model = cls(hypers)
        g = TensorSparseGPR(**model._gpr_kwargs())
        g.weights_ = np.array(z["weights"])
        g.active_x0_ = np.array(z["active_x0"])
        g.active_x2_ = np.array(z["active_x2"])
        g.active_indices_ = np.array(z["active_indices"])
        g.exact_ = bool(z["exact"])
        model.gpr_ = g
        return model


_KINDS: dict[str, type[_ModelBase]] = {
    ScalarSoapModel._kind: ScalarSoapModel,
    TensorSoapModel._kind: TensorSoapModel,
}


def load_model(path: str | PathLike) -> ScalarSoapModel | TensorSoapModel:
    """Load a model saved by ``ScalarSoapModel.save`` or ``TensorSoapModel.save``.

    Raises
    ------
    ValueError
        If the file is not a baselines model, or was written with a different
        :data:`FORMAT_VERSION`.
    """
    path = Path(path)
    with np.load(path, allow_pickle=False) as z:
        if "format_version" not in z.files or "kind" not in z.files:
            raise ValueError(f"{path} is not an ltoefg baselines model file")
        version = int(z["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path} was written in baselines model format version {version}, but this "
                f"code reads only version {FORMAT_VERSION}; refit the model with this code "
                "or load it with the code version that wrote it"
            )
        kind = str(z["kind"])
        if kind not in _KINDS:
            raise ValueError(f"{path}: unknown model kind {kind!r}")
        raw = str(z["training_data_json"]) if "training_data_json" in z.files else "{}"
        training = json.loads(raw)
        data_version = training.get("data_format_version")
        if data_version != DATA_FORMAT_VERSION:
            raise ValueError(
                f"{path} was trained on ltoefg data-format version {data_version}, but this "
                f"ltoefg reads data-format version {DATA_FORMAT_VERSION}; retrain the model on "
                "data of this version"
            )
        hypers = Hypers.from_dict(json.loads(str(z["hypers_json"])))
        arrays = {k: z[k] for k in z.files}
    model = _KINDS[kind]._from_arrays(hypers, arrays)
    model.centre_species_ = np.array(arrays["centre_species"], dtype=np.int64)
    model.training_data = {k: v for k, v in training.items() if k != "data_format_version"}
    return model
