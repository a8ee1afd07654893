"""Model-agnostic prediction of one nucleus's EFG tensors for a list of structures.

Workflow (:func:`predict_structures`, ``python -m baselines predict``):

1. read any ase-readable structures (:func:`read_structures`: extxyz frames of
   an MD run, CIFs, the output of ``python -m baselines lto-models``, ...);
2. predict the full EFG tensor (V/Å²) of every site of the nucleus with any
   :class:`TensorModel` — an object with ``predict(frames, centres) -> (n, 3, 3)``
   (the λ-SOAP SA-GPR of :mod:`baselines.models.soap`, the point-charge labeller of
   :mod:`ltoefg.application.pointcharge_model`, your own model);
3. compute the observables with :mod:`ltoefg.nmr`: CQ (kHz, signed), η, the
   angles θ, φ of B0 in the PAS (radians) and ωQ/2π (kHz);
4. classify the sites by ωQ into the most prominent histogram peaks
   (:func:`ltoefg.application.classify.classify_omega_q`);
5. write per-site results (:func:`write_outputs`): ``predictions.extxyz`` (the
   input frames with per-atom arrays), ``sites.csv``, ``omega_q_histogram.png``
   and ``summary.json`` (regions, counts, timings).

Lab frame
---------
ωQ depends on the orientation of the EFG relative to the magnetic field. The
lab frame is the structure's Cartesian frame and B0 ∥ ẑ by default, i.e.
ωQ/2π = 3eQ · ẑᵀVẑ / (2I(2I−1)h) with Q and V signed (SPEC §3.1 v2,
:func:`ltoefg.nmr.omega_q_khz`; continuous in the tensor, no per-site flip);
``b0_direction`` picks another field direction n̂ (the tensor is rotated so
that n̂ becomes ẑ, which gives the same result as n̂ᵀVn̂). θ and φ are the
polar and azimuthal angles of that field direction in each site's PAS. CQ and
η do not depend on the frame.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ltoefg import nmr
from ltoefg.application.classify import (
    DEFAULT_BIN_WIDTH_KHZ,
    DEFAULT_MIN_COUNT,
    DEFAULT_N_REGIONS,
    Classification,
    classify_omega_q,
    plot_classification,
)
from ltoefg.application.errors import ApplicationError

if TYPE_CHECKING:
    import ase

__all__ = [
    "CSV_COLUMNS",
    "SitePredictions",
    "TensorModel",
    "annotate_frames",
    "lab_rotation",
    "nucleus_centres",
    "omega_q_lab_khz",
    "predict_structures",
    "predict_tensors",
    "read_structures",
    "site_observables",
    "write_outputs",
]

#: Columns of ``sites.csv``.
CSV_COLUMNS: tuple[str, ...] = (
    "structure",
    "atom_index",
    "wyckoff",
    "cq_khz",
    "eta",
    "theta",
    "phi",
    "omega_q_khz",
    "region",
)
#: Per-atom arrays added to the output extxyz frames.
ARRAY_EFG = "efg"
ARRAY_OMEGA_Q = "omega_q_khz"
ARRAY_REGION = "region"


@runtime_checkable
class TensorModel(Protocol):
    """Anything that predicts EFG tensors of given atoms of given structures.

    ``training_data`` (optional attribute, a dict with ``dataset`` and
    ``label_method``) names the training labels on every figure
    (:mod:`ltoefg.application.banner`).
    """

    def predict(self, frames: Sequence[ase.Atoms], centres: NDArray[np.int64]) -> NDArray[Any]:
        """EFG tensors, shape (n, 3, 3), V/Å², of the atoms ``centres`` (n, 2).

        Each row of ``centres`` is (index into ``frames``, atom index); the
        tensors are in the structures' Cartesian frame, in the order of the rows.
        """
        ...


@dataclass
class SitePredictions:
    """Predictions for the sites of one nucleus in a list of structures.

    Attributes
    ----------
    centres : numpy.ndarray, shape (n, 2), int
        (structure index, atom index) of each site.
    efg : numpy.ndarray, shape (n, 3, 3)
        Predicted EFG tensors in the structures' Cartesian frame, V/Å².
    table : pandas.DataFrame
        One row per site, columns :data:`CSV_COLUMNS` (CQ in kHz, θ and φ in
        radians, ωQ/2π in kHz, region −1 = unclassified).
    classification : Classification
    b0_direction : numpy.ndarray, shape (3,)
        Unit vector of B0 in the Cartesian frame.
    timings : dict
        Wall times in s: ``features_and_prediction``, ``observables``,
        ``classification``; plus ``n_structures``, ``n_sites``.
    """

    centres: NDArray[np.int64]
    efg: NDArray[np.float64]
    table: pd.DataFrame
    classification: Classification
    b0_direction: NDArray[np.float64]
    timings: dict[str, float] = field(default_factory=dict)


def read_structures(path: str | PathLike, index: str = ":") -> list[ase.Atoms]:
    """Read frames of any ase-readable file (format from the extension or content).

    Raises
    ------
    ApplicationError
        Missing, unreadable or empty file.
    """
    from ase.io import read

    p = Path(path)
    if not p.exists():
        raise ApplicationError(f"structure file {p} does not exist")
    try:
        frames = read(p, index=index)
    except Exception as exc:  # ase raises many types for unreadable input
        raise ApplicationError(f"cannot read structures from {p}: {exc}") from None
    if not isinstance(frames, list):
        frames = [frames]
    if not frames:
        raise ApplicationError(f"{p} holds no structures")
    return frames


def nucleus_centres(frames: Sequence[ase.Atoms], nucleus: str) -> NDArray[np.int64]:
    """(structure index, atom index) of every atom of ``nucleus``, shape (n, 2).

    In structure order, then atom order.
    """
    from ase.data import atomic_numbers

    if not frames:
        return np.zeros((0, 2), dtype=np.int64)
    numbers = np.concatenate([f.numbers for f in frames])
    sizes = np.array([len(f) for f in frames])
    structure = np.repeat(np.arange(len(frames)), sizes)
    atom = np.arange(len(numbers)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    hit = numbers == atomic_numbers[nucleus]
    return np.column_stack([structure[hit], atom[hit]]).astype(np.int64)


def lab_rotation(b0_direction: ArrayLike) -> NDArray[np.float64]:
    """Proper rotation R with R n̂ = ẑ for the field direction n̂ (identity for n̂ = ẑ).

    Parameters
    ----------
    b0_direction : array_like, shape (3,)
        Direction of B0 in the Cartesian frame (any length > 0).
    """
    n = np.asarray(b0_direction, dtype=np.float64)
    norm = np.linalg.norm(n) if n.shape == (3,) else 0.0
    if not norm > 0:
        raise ValueError(f"b0_direction must be a non-zero 3-vector, got {b0_direction!r}")
    n = n / norm
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(n, z)
    c = float(n @ z)
    s = float(np.linalg.norm(v))
    if s < 1e-15:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx * ((1.0 - c) / (s * s))


def omega_q_lab_khz(
    efg: ArrayLike, nucleus: str, rotation: NDArray[np.float64]
) -> NDArray[np.float64]:
    """ωQ/2π in kHz with B0 along R⁻¹ẑ, for tensors of any leading shape (..., 3, 3), V/Å²."""
    v = np.asarray(efg, dtype=np.float64)
    lab = np.einsum("ij,...jk,lk->...il", rotation, v, rotation)
    return nmr.omega_q_khz(lab.reshape(-1, 3, 3), nucleus).reshape(v.shape[:-2])


def site_observables(
    efg: NDArray[np.float64], nucleus: str, rotation: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """CQ (kHz, signed), η, θ, φ (rad) and ωQ/2π (kHz) with B0 along R⁻¹ẑ.

    Parameters
    ----------
    efg : numpy.ndarray, shape (n, 3, 3)
        Tensors in the structures' Cartesian frame, V/Å².
    nucleus : str
    rotation : numpy.ndarray, shape (3, 3)
        :func:`lab_rotation` of the field direction.
    """
    lab = np.einsum("ij,njk,lk->nil", rotation, efg, rotation)
    pas = nmr.principal_axes(lab)
    theta, phi = nmr.angles(pas.frames)
    return {
        "cq_khz": nmr.cq_khz(pas.vzz, nucleus),
        "eta": nmr.eta_from_eigenvalues(pas.eigenvalues),
        "theta": theta,
        "phi": phi,
        "omega_q_khz": nmr.omega_q_khz(lab, nucleus),
    }


def predict_tensors(
    model: TensorModel, frames: Sequence[ase.Atoms], centres: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``model.predict(frames, centres)``, checked: shape (n, 3, 3), finite, V/Å².

    Raises
    ------
    ApplicationError
        The model refuses the structures (``ValueError``, e.g. unknown species)
        or returns something else than one finite 3 × 3 tensor per centre.
    """
    try:
        out = np.asarray(model.predict(list(frames), centres), dtype=np.float64)
    except ValueError as exc:
        raise ApplicationError(f"cannot predict: {exc}") from None
    if out.shape != (len(centres), 3, 3):
        raise ApplicationError(
            f"the model returned an array of shape {out.shape} for {len(centres)} sites; "
            f"a tensor model must return ({len(centres)}, 3, 3)"
        )
    if not np.isfinite(out).all():
        raise ApplicationError("the model returned non-finite tensors (NaN or inf)")
    return out


def predict_structures(
    frames: Sequence[ase.Atoms],
    model: TensorModel,
    nucleus: str = "Li",
    b0_direction: ArrayLike = (0.0, 0.0, 1.0),
    bin_width_khz: float = DEFAULT_BIN_WIDTH_KHZ,
    n_regions: int = DEFAULT_N_REGIONS,
    min_count: int = DEFAULT_MIN_COUNT,
    frames_per_batch: int = 10,
    progress: bool = False,
) -> SitePredictions:
    """Predict EFG tensors and observables of every ``nucleus`` site and classify by ωQ.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Structures, Å.
    model : TensorModel
        Predicts (n, 3, 3) tensors in V/Å² for (structure, atom) centres.
    nucleus : str
        ``"Li"`` (default), ``"Ti"`` or ``"O"``.
    b0_direction : array_like, shape (3,)
        Direction of B0 in the Cartesian frame (default ẑ).
    bin_width_khz, n_regions, min_count
        Passed to :func:`ltoefg.application.classify.classify_omega_q`.
    frames_per_batch : int
        Structures passed to ``model.predict`` at once (bounds the model's
        memory: the λ-SOAP model holds ≈ 50 kB of descriptors per centre).
    progress : bool
        tqdm progress bar over the batches.

    Returns
    -------
    SitePredictions

    Raises
    ------
    ApplicationError
        No site of the nucleus, or the model fails (:func:`predict_tensors`).
    """
    rotation = lab_rotation(b0_direction)
    centres = nucleus_centres(frames, nucleus)
    if len(centres) == 0:
        raise ApplicationError(f"the structures contain no {nucleus} atoms")
    step = max(1, int(frames_per_batch))
    starts: Any = range(0, len(frames), step)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc=f"predicting {nucleus} EFG", unit="batch")
    t0 = time.perf_counter()
    parts = []
    for s in starts:
        sub = frames[s : s + step]
        rows = centres[(centres[:, 0] >= s) & (centres[:, 0] < s + len(sub))]
        parts.append(predict_tensors(model, sub, rows - np.array([s, 0])))
    efg = np.concatenate(parts)
    t1 = time.perf_counter()
    obs = site_observables(efg, nucleus, rotation)
    t2 = time.perf_counter()
    result = classify_omega_q(obs["omega_q_khz"], bin_width_khz, n_regions, min_count)
    t3 = time.perf_counter()

    wyckoff = np.array(
        [
            str(frames[i].arrays["wyckoff"][j]) if "wyckoff" in frames[i].arrays else ""
            for i, j in centres
        ]
    )
    table = pd.DataFrame(
        {
            "structure": centres[:, 0],
            "atom_index": centres[:, 1],
            "wyckoff": wyckoff,
            **obs,
            "region": result.labels,
        }
    )[list(CSV_COLUMNS)]
    timings = {
        "features_and_prediction": t1 - t0,
        "observables": t2 - t1,
        "classification": t3 - t2,
        "n_structures": float(len(frames)),
        "n_sites": float(len(centres)),
    }
    return SitePredictions(centres, efg, table, result, rotation.T @ np.array([0, 0, 1.0]), timings)


def annotate_frames(frames: Sequence[ase.Atoms], pred: SitePredictions) -> list[ase.Atoms]:
    """Copies of ``frames`` with per-atom arrays ``efg`` (N, 9; V/Å², row-major xx, xy, …, zz),
    ``omega_q_khz`` (N,) and ``region`` (N,); NaN / −1 on atoms that were not predicted.

    Input arrays with these names are kept as ``efg_input`` etc.; other per-atom
    arrays with more than 2 dimensions are flattened to (N, k) for extxyz."""
    out = []
    tab = pred.table
    for i, frame in enumerate(frames):
        at = frame.copy()
        n = len(at)
        efg = np.full((n, 9), np.nan)
        om = np.full(n, np.nan)
        reg = np.full(n, -1, dtype=np.int64)
        rows = np.flatnonzero(pred.centres[:, 0] == i)
        atoms_idx = pred.centres[rows, 1]
        efg[atoms_idx] = pred.efg[rows].reshape(-1, 9)
        om[atoms_idx] = tab["omega_q_khz"].to_numpy()[rows]
        reg[atoms_idx] = tab["region"].to_numpy()[rows]
        # arrays of the input with the same names (e.g. reference EFGs of a data
        # set) are kept as NAME_input; extxyz cannot hold (N, 3, 3): flatten
        for name in list(at.arrays):
            arr = at.arrays[name]
            if name in (ARRAY_EFG, ARRAY_OMEGA_Q, ARRAY_REGION):
                del at.arrays[name]
                at.new_array(f"{name}_input", arr.reshape(n, -1) if arr.ndim > 2 else arr)
            elif arr.ndim > 2:
                del at.arrays[name]
                at.new_array(name, arr.reshape(n, -1))
        at.new_array(ARRAY_EFG, efg)
        at.new_array(ARRAY_OMEGA_Q, om)
        at.new_array(ARRAY_REGION, reg)
        at.info["structure"] = i
        out.append(at)
    return out


def write_outputs(
    frames: Sequence[ase.Atoms],
    pred: SitePredictions,
    out_dir: str | PathLike,
    title: str | None = None,
    plot: bool = True,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``predictions.extxyz``, ``sites.csv``, ``summary.json`` and the histogram PNG.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        The structures that were predicted (same order).
    pred : SitePredictions
    out_dir : str or path-like
        Created if needed.
    title : str, optional
        Title of the histogram plot; name the model's training labels
        (:func:`ltoefg.application.banner.figure_title`).
    plot : bool
        Make the PNG (needs matplotlib).
    metadata : dict, optional
        Extra JSON-serialisable entries for ``summary.json``.

    Returns
    -------
    dict of str to Path
    """
    from ase.io import write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "extxyz": out / "predictions.extxyz",
        "csv": out / "sites.csv",
        "summary": out / "summary.json",
    }
    write(paths["extxyz"], annotate_frames(frames, pred), format="extxyz")
    pred.table.to_csv(paths["csv"], index=False, float_format="%.10g")
    cls = pred.classification
    summary = {
        "n_structures": len(frames),
        "n_sites": len(pred.table),
        "b0_direction": pred.b0_direction.tolist(),
        "units": {"efg": "V/Angstrom^2", "cq": "kHz", "angles": "rad", "omega_q": "kHz"},
        "classification": {
            "bin_width_khz": float(np.diff(cls.bins[:2])[0]) if len(cls.bins) > 1 else None,
            "min_count": cls.min_count,
            "regions": [
                {
                    "label": k,
                    "lo_khz": r.lo,
                    "hi_khz": r.hi,
                    "peak_khz": r.peak,
                    "n_sites": int(n),
                    "prominence": float(p),
                }
                for k, (r, n, p) in enumerate(
                    zip(cls.regions, cls.sizes, cls.prominences, strict=True)
                )
            ],
            "fraction_classified": cls.fraction_classified,
        },
        "timings_s": pred.timings,
        **(metadata or {}),
    }
    paths["summary"].write_text(json.dumps(summary, indent=2) + "\n")
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = plot_classification(cls, title=title)
        paths["png"] = out / "omega_q_histogram.png"
        fig.savefig(paths["png"], dpi=150)
        plt.close(fig)
    return paths
