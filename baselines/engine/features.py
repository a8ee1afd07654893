"""featomic descriptors of the atomic environments of one central species.

Two descriptors, both built on a featomic ``SphericalExpansion`` of Gaussian
atomic densities of *all* neighbour species, with the same hyperparameters
(:class:`SoapHypers`):

* **λ = 0 SOAP power spectrum** (``featomic.SoapPowerSpectrum``), shape
  ``(n_centres, F0)``: every (neighbour pair, n₁, n₂, l) channel joined into one
  dense vector per centre, then normalised to unit Euclidean norm, so that the
  linear kernel x·x' is 1 for identical environments (as SA-GPR/TENSOAP does).
* **λ = 2 equivariant power spectrum** ("λ-SOAP",
  ``featomic.clebsch_gordan.EquivariantPowerSpectrum``), block o3_lambda = 2,
  o3_sigma = +1, shape ``(n_centres, 5, F2)``, components m = −2 … 2 in the
  order of :func:`ltoefg.tensors.to_spherical`. Each environment P (a 5 × F2
  matrix) is divided by its Frobenius norm ‖P‖_F, so that the trace of the
  λ = 2 self-kernel k₂(X, X) = P Pᵀ is 1 (TENSOAP's normalisation). ‖P‖_F is
  rotation invariant, so the normalised P stays exactly equivariant.

Feature conventions (chosen so that x·x' equals the textbook SOAP overlap summed
over *all* ordered channel pairs, and documented here because featomic stores
some channels once and some twice):

* featomic's ``SoapPowerSpectrum`` already stores each unordered pair of
  *different* neighbour species once, scaled by √2; for a *same*-species pair it
  stores both (n₁, n₂) and (n₂, n₁), which are identical. We keep one of the
  two, scaled by √2 (lossless: every dot product is unchanged, the dimension
  drops by 20 % at n_max = 5).
* featomic's λ = 2 power spectrum keeps only l₁ ≤ l₂. The block (l₂, l₁) it drops
  equals the (l₁, l₂) block with the channels swapped (Clebsch–Gordan symmetry,
  sign (−1)^(l₁+l₂−λ) = +1 for σ = +1), so l₁ < l₂ features are scaled by √2; in
  the l₁ = l₂ blocks the two orders (a, n₁, b, n₂) and (b, n₂, a, n₁) are
  identical, so one is kept, scaled by √2. Again lossless (≈ 27 % fewer
  features at l_max = 4).

``n_max`` is the *number* of radial basis functions (TENSOAP's meaning);
featomic's ``max_radial`` is ``n_max - 1``. The radial basis is featomic's
``Gto``; the cutoff is smoothed by a shifted cosine of width
``cutoff_width`` (Å); the central atom contributes its own Gaussian with weight
``center_atom_weight`` (featomic's default, 1).

Vanishing spectra: an environment whose raw norm is below :data:`ZERO_NORM`
(1e-8 in featomic's units, where LTO environments at the default
hyperparameters have raw norms of ≈ 5 for λ = 0 and 0.7–4 for λ = 2) is set to
exactly zero instead of being divided by its norm. This matters for λ = 2: at a
site of cubic symmetry (e.g. Li 8a in the ideal spinel, raw norm ≈ 3e-15) the
λ = 2 spectrum vanishes and normalising would blow round-off up into a
random unit vector; a zero vector instead gives a zero kernel and so a
predicted EFG of exactly zero, as symmetry requires. (TENSOAP divides
unconditionally.)

Memory: structures are processed in batches of ``batch_size`` and only the
requested centres are computed (featomic ``selected_samples``). At the default
hyperparameters (n_max 5, l_max 4, three species) F0 = 600 and F2 = 1155, i.e.
≈ 50 kB per centre for both descriptors in float64: 15,000 centres take
≈ 750 MB, 31,000 O centres ≈ 1.6 GB. No further dimension reduction is done.

This module is part of the reference baselines (run from a checkout); it
imports featomic and metatensor, which the ``ltoefg`` package itself never does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ase
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_SPECIES",
    "Descriptors",
    "ZERO_NORM",
    "SoapHypers",
    "compute_descriptors",
    "lambda_soap",
    "select_centres",
    "soap_power_spectrum",
]

#: Atomic numbers of the species of LTO (Li, O, Ti), sorted.
DEFAULT_SPECIES: tuple[int, ...] = (3, 8, 22)

#: Raw descriptor norm (featomic units) below which an environment's spectrum is set to zero.
ZERO_NORM: float = 1e-8


@dataclass(frozen=True)
class SoapHypers:
    """Hyperparameters of the SOAP / λ-SOAP descriptors.

    Parameters
    ----------
    cutoff : float
        Cutoff radius of the environment, Å.
    sigma : float
        Width (standard deviation) of the atomic Gaussians, Å.
    n_max : int
        Number of radial basis functions (featomic ``max_radial = n_max - 1``).
    l_max : int
        Largest angular channel of the spherical expansion (≥ 1 for λ = 2).
    cutoff_width : float
        Width of the shifted-cosine smoothing at the cutoff, Å.
    center_atom_weight : float
        Weight of the central atom's own Gaussian in the density.
    species : tuple of int
        Atomic numbers of all neighbour species, sorted. Fixes the feature
        layout, so that features of different batches and data sets match.
    """

    cutoff: float = 5.0
    sigma: float = 0.4
    n_max: int = 5
    l_max: int = 4
    cutoff_width: float = 0.5
    center_atom_weight: float = 1.0
    species: tuple[int, ...] = DEFAULT_SPECIES

    def __post_init__(self) -> None:
        if self.cutoff <= 0 or self.sigma <= 0:
            raise ValueError("cutoff and sigma must be positive (Å)")
        if not 0 < self.cutoff_width <= self.cutoff:
            raise ValueError("cutoff_width must be in (0, cutoff] Å")
        if self.n_max < 1 or self.l_max < 1:
            raise ValueError("n_max must be ≥ 1 and l_max ≥ 1")
        species = tuple(int(z) for z in self.species)
        if list(species) != sorted(set(species)):
            raise ValueError(f"species must be sorted and unique, got {self.species}")
        object.__setattr__(self, "species", species)

    def featomic_hypers(self) -> dict:
        """The keyword arguments of featomic's ``SphericalExpansion`` / SOAP calculators."""
        return {
            "cutoff": {
                "radius": float(self.cutoff),
                "smoothing": {"type": "ShiftedCosine", "width": float(self.cutoff_width)},
            },
            "density": {
                "type": "Gaussian",
                "width": float(self.sigma),
                "center_atom_weight": float(self.center_atom_weight),
            },
            "basis": {
                "type": "TensorProduct",
                "max_angular": int(self.l_max),
                "radial": {"type": "Gto", "max_radial": int(self.n_max) - 1},
            },
        }

    def to_dict(self) -> dict:
        """Plain-JSON form (inverse of ``SoapHypers(**d)``)."""
        d = dataclasses.asdict(self)
        d["species"] = list(self.species)
        return d


@dataclass
class Descriptors:
    """Descriptors of a set of centres.

    Attributes
    ----------
    centres : numpy.ndarray, shape (n, 2), int64
        (structure index, atom index) of each row.
    x0 : numpy.ndarray, shape (n, F0), or None
        Unit-norm λ = 0 SOAP power spectra.
    x2 : numpy.ndarray, shape (n, 5, F2), or None
        λ = 2 power spectra, ‖x2[i]‖_F = 1, components m = −2 … 2.
    numbers : numpy.ndarray, shape (n,), int64, or None
        Atomic number of each centre.
    """

    centres: NDArray[np.int64]
    x0: NDArray[np.float64] | None = None
    x2: NDArray[np.float64] | None = None
    numbers: NDArray[np.int64] | None = None

    def __len__(self) -> int:
        return int(self.centres.shape[0])

    def subset(self, index: ArrayLike) -> Descriptors:
        """Rows ``index`` (any numpy index) as a new :class:`Descriptors`."""
        idx = np.asarray(index)
        return Descriptors(
            centres=self.centres[idx],
            x0=None if self.x0 is None else self.x0[idx],
            x2=None if self.x2 is None else self.x2[idx],
            numbers=None if self.numbers is None else self.numbers[idx],
        )


def _atomic_number(species: int | str) -> int:
    if isinstance(species, str):
        return int(ase.data.atomic_numbers[species])
    return int(species)


def select_centres(frames: Sequence[ase.Atoms], species: int | str) -> NDArray[np.int64]:
    """All atoms of one species, as (structure index, atom index) rows.

    Parameters
    ----------
    frames : sequence of ase.Atoms
    species : int or str
        Atomic number or chemical symbol (``"Li"``, ``"Ti"``, ``"O"``).

    Returns
    -------
    numpy.ndarray, shape (n, 2), int64
        In structure order, then atom order.
    """
    z = _atomic_number(species)
    rows = [
        np.column_stack([np.full(len(idx), s), idx])
        for s, frame in enumerate(frames)
        if len(idx := np.flatnonzero(frame.numbers == z))
    ]
    if not rows:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(rows).astype(np.int64)


def _as_centres(frames: Sequence[ase.Atoms], centres: ArrayLike | int | str) -> NDArray[np.int64]:
    if isinstance(centres, (str, int, np.integer)):
        return select_centres(frames, centres)
    arr = np.asarray(centres, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"centres must have shape (n, 2) (structure, atom), got {arr.shape}")
    if len(arr):
        if arr[:, 0].min() < 0 or arr[:, 0].max() >= len(frames):
            raise ValueError("centre structure index out of range")
        n_atoms = np.array([len(f) for f in frames])
        if (arr[:, 1] < 0).any() or (arr[:, 1] >= n_atoms[arr[:, 0]]).any():
            raise ValueError("centre atom index out of range")
    return arr


def _check_species(frames: Sequence[ase.Atoms], species: tuple[int, ...]) -> None:
    present = set()
    for frame in frames:
        present.update(np.unique(frame.numbers).tolist())
    unknown = present - set(species)
    if unknown:
        raise ValueError(
            f"structures contain species {sorted(unknown)} that are not in "
            f"SoapHypers.species = {list(species)}"
        )


def _symmetric_reduction(
    props: NDArray[np.int64],
    key_of: Callable[[NDArray[np.int64]], tuple],
    swap_of: Callable[[NDArray[np.int64]], tuple | None],
    base_weight: Callable[[NDArray[np.int64]], float],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Keep one property of each pair of identical (swapped) channels.

    Returns the kept column indices and the weight of each (√2 for a kept
    representative of a swapped pair, times ``base_weight``).
    """
    lookup = {key_of(p): i for i, p in enumerate(props)}
    keep: list[int] = []
    weight: list[float] = []
    for i, p in enumerate(props):
        j = lookup.get(swap_of(p))
        if j is None or j == i:
            keep.append(i)
            weight.append(base_weight(p))
        elif i < j:
            keep.append(i)
            weight.append(np.sqrt(2.0) * base_weight(p))
        # else: the partner j < i was kept already
    return np.asarray(keep, dtype=np.int64), np.asarray(weight)


def _reduction_lambda0(props: NDArray[np.int64], names: list[str]):
    # properties: neighbor_1_type, neighbor_2_type, l, n_1, n_2
    ia, ib = names.index("neighbor_1_type"), names.index("neighbor_2_type")
    il, i1, i2 = names.index("l"), names.index("n_1"), names.index("n_2")

    def key(p):
        return (p[ia], p[ib], p[il], p[i1], p[i2])

    def swap(p):
        if p[ia] != p[ib]:
            return None
        return (p[ia], p[ib], p[il], p[i2], p[i1])

    return _symmetric_reduction(props, key, swap, lambda p: 1.0)


def _reduction_lambda2(props: NDArray[np.int64], names: list[str]):
    # properties: l_1, l_2, neighbor_1_type, n_1, neighbor_2_type, n_2
    i_l1, i_l2 = names.index("l_1"), names.index("l_2")
    i_a, i_n1 = names.index("neighbor_1_type"), names.index("n_1")
    i_b, i_n2 = names.index("neighbor_2_type"), names.index("n_2")

    def key(p):
        return (p[i_l1], p[i_l2], p[i_a], p[i_n1], p[i_b], p[i_n2])

    def swap(p):
        if p[i_l1] != p[i_l2]:
            return None
        return (p[i_l2], p[i_l1], p[i_b], p[i_n2], p[i_a], p[i_n1])

    def base(p):
        # the (l2, l1) block that featomic drops equals this one: count it via √2
        return np.sqrt(2.0) if p[i_l1] != p[i_l2] else 1.0

    return _symmetric_reduction(props, key, swap, base)


def _normalise_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Divide each row (all trailing axes) by its Euclidean/Frobenius norm, in place.

    Rows with a norm ≤ :data:`ZERO_NORM` are set to zero.
    """
    flat = x.reshape(x.shape[0], -1)
    norm = np.sqrt(np.einsum("ij,ij->i", flat, flat))
    scale = np.zeros_like(norm)
    ok = norm > ZERO_NORM
    scale[ok] = 1.0 / norm[ok]
    flat *= scale[:, None]
    return x


class _Computer:
    """Batch loop shared by the λ = 0 and λ = 2 descriptors."""

    def __init__(self, hypers: SoapHypers, lam: int) -> None:
        import featomic
        from featomic.clebsch_gordan import EquivariantPowerSpectrum
        from metatensor import Labels

        self.hypers = hypers
        self.lam = lam
        self._labels = Labels
        kw = hypers.featomic_hypers()
        if lam == 0:
            self._calc = featomic.SoapPowerSpectrum(**kw)
            pairs = [(a, b) for i, a in enumerate(hypers.species) for b in hypers.species[i:]]
            self._pairs = Labels(
                ["neighbor_1_type", "neighbor_2_type"], np.asarray(pairs, dtype=np.int32)
            )
        elif lam == 2:
            self._calc = EquivariantPowerSpectrum(
                featomic.SphericalExpansion(**kw), neighbor_types=list(hypers.species)
            )
            self._keys = Labels(["o3_lambda", "o3_sigma"], np.array([[2, 1]], dtype=np.int32))
        else:
            raise ValueError("only λ = 0 and λ = 2 are implemented")
        self._props: NDArray[np.int64] | None = None
        self._keep: NDArray[np.int64] | None = None
        self._weight: NDArray[np.float64] | None = None

    def _set_layout(self, props: NDArray[np.int64], names: list[str]) -> None:
        if self._props is None:
            reduce = _reduction_lambda0 if self.lam == 0 else _reduction_lambda2
            self._props = props.copy()
            self._keep, self._weight = reduce(props, names)
        elif not np.array_equal(self._props, props):
            raise RuntimeError("featomic returned a different feature layout for a batch")

    def batch(
        self, frames: Sequence[ase.Atoms], local: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Features of the centres ``local`` ((system in batch, atom) rows)."""
        samples = self._labels(["system", "atom"], np.ascontiguousarray(local, dtype=np.int32))
        if self.lam == 0:
            tm = self._calc.compute(list(frames), selected_samples=samples)
            tm = tm.keys_to_properties(self._pairs)
        else:
            tm = self._calc.compute(
                list(frames),
                selected_keys=self._keys,
                selected_samples=samples,
                neighbors_to_properties=True,
            )
        out_samples, out_values = [], []
        for block in tm.blocks():
            if block.values.shape[0] == 0:
                continue
            props = np.asarray(block.properties.values, dtype=np.int64)
            self._set_layout(props, list(block.properties.names))
            values = np.asarray(block.values)
            if self.lam == 2 and values.shape[1] != 5:
                raise RuntimeError(f"unexpected λ=2 block shape {values.shape}")
            values = values[..., self._keep] * self._weight
            out_samples.append(np.asarray(block.samples.values, dtype=np.int64))
            out_values.append(values)
        if not out_samples:
            raise RuntimeError("featomic returned no samples for the requested centres")
        return np.concatenate(out_samples), np.concatenate(out_values)

    @property
    def n_features(self) -> int:
        assert self._keep is not None
        return int(self._keep.size)


def _compute(
    frames: Sequence[ase.Atoms],
    centres: ArrayLike | int | str,
    hypers: SoapHypers,
    lambdas: tuple[int, ...],
    batch_size: int,
) -> Descriptors:
    frames = list(frames)
    cen = _as_centres(frames, centres)
    _check_species(frames, hypers.species)
    if len(cen) == 0:
        raise ValueError("no centres selected")
    numbers = np.array([frames[s].numbers[a] for s, a in cen], dtype=np.int64)
    out = Descriptors(centres=cen, numbers=numbers)
    # unique centre keys -> output row(s); duplicates are allowed and filled from one result
    n_atoms_max = max(len(f) for f in frames)
    keys = cen[:, 0] * n_atoms_max + cen[:, 1]
    structures = np.unique(cen[:, 0])
    for lam in lambdas:
        comp = _Computer(hypers, lam)
        result: NDArray[np.float64] | None = None
        for start in range(0, len(structures), batch_size):
            chunk = structures[start : start + batch_size]
            mask = np.isin(cen[:, 0], chunk)
            rows = np.flatnonzero(mask)
            local = np.unique(cen[rows], axis=0)
            local[:, 0] = np.searchsorted(chunk, local[:, 0])
            samples, values = comp.batch([frames[s] for s in chunk], local)
            got = chunk[samples[:, 0]] * n_atoms_max + samples[:, 1]
            order = np.argsort(got)
            pos = np.searchsorted(got[order], keys[rows])
            if np.any(pos >= len(got)) or np.any(
                got[order][np.minimum(pos, len(got) - 1)] != keys[rows]
            ):
                raise RuntimeError("featomic did not return every requested centre")
            if result is None:
                result = np.empty((len(cen),) + values.shape[1:])
            result[rows] = values[order[pos]]
        assert result is not None
        _normalise_rows(result)
        if lam == 0:
            out.x0 = result
        else:
            out.x2 = result
    return out


def compute_descriptors(
    frames: Sequence[ase.Atoms],
    centres: ArrayLike | int | str,
    hypers: SoapHypers,
    lambdas: tuple[int, ...] = (0, 2),
    batch_size: int = 100,
) -> Descriptors:
    """Normalised λ = 0 and/or λ = 2 descriptors of selected centres.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Periodic or not; positions and cell in Å. Every species must be listed in
        ``hypers.species``.
    centres : array_like (n, 2) of int, or int / str
        (structure index, atom index) rows, in the order wanted for the output;
        or an atomic number / symbol to take every atom of that species
        (see :func:`select_centres`).
    hypers : SoapHypers
    lambdas : tuple of int
        Which descriptors to compute: ``(0,)``, ``(2,)`` or ``(0, 2)``.
    batch_size : int
        Number of structures handed to featomic at once (bounds the memory of
        featomic's intermediate spherical expansion).

    Returns
    -------
    Descriptors
        Rows in the order of ``centres``.
    """
    return _compute(frames, centres, hypers, tuple(lambdas), batch_size)


def soap_power_spectrum(
    frames: Sequence[ase.Atoms],
    centres: ArrayLike | int | str,
    hypers: SoapHypers,
    batch_size: int = 100,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Unit-norm λ = 0 SOAP power spectra, shape (n, F0), and the (n, 2) centres."""
    d = _compute(frames, centres, hypers, (0,), batch_size)
    assert d.x0 is not None
    return d.x0, d.centres


def lambda_soap(
    frames: Sequence[ase.Atoms],
    centres: ArrayLike | int | str,
    hypers: SoapHypers,
    batch_size: int = 100,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """λ = 2 power spectra with unit Frobenius norm, shape (n, 5, F2), and the (n, 2) centres."""
    d = _compute(frames, centres, hypers, (2,), batch_size)
    assert d.x2 is not None
    return d.x2, d.centres
