"""Application of a trained λ-SOAP model to large LTO models (paper §3, Fig. 6; SPEC §9).

Workflow (:func:`predict_structures`, ``python -m baselines predict``):

1. read any ase-readable structures (extxyz frames of an MD run, CIFs, the
   output of ``python -m baselines lto-models``, ...);
2. predict the full symmetric traceless EFG tensor (V/Å²) of every Li site with
   a saved :class:`baselines.models.TensorSoapModel` (λ-SOAP SA-GPR);
3. compute the observables with :mod:`ltoefg.nmr`: CQ (kHz, signed), η, the
   angles θ, φ of B0 in the PAS (radians) and ωQ/2π (kHz);
4. classify the Li sites by ωQ into the most prominent histogram peaks
   (:func:`ltoefg.classify.classify_omega_q`);
5. write per-site results: ``predictions.extxyz`` (the input frames with
   per-atom arrays), ``sites.csv``, ``omega_q_histogram.png`` and
   ``summary.json`` (regions, counts, timings).

Lab frame
---------
ωQ depends on the orientation of the EFG relative to the magnetic field. The
lab frame is the structure's Cartesian frame and B0 ∥ ẑ by default, i.e.
ωQ/2π = 3eQ · ẑᵀVẑ / (2I(2I−1)h) with Q and V signed (SPEC §3.1 v2,
:func:`ltoefg.nmr.omega_q_khz`; continuous in the tensor, no per-site flip);
``--b0 X Y Z`` (``b0_direction``) picks another field direction n̂ (the tensor
is rotated so that n̂ becomes ẑ, which gives the same result as n̂ᵀVn̂). θ and φ are the polar
and azimuthal angles of that field direction in each site's PAS. CQ and η
do not depend on the frame.

Model compatibility
-------------------
The model file stores its format version; :func:`baselines.models.load_model`
refuses any other version, and this module turns that (and a model that is not
a λ-SOAP tensor model, or was not trained on Li centres) into a one-sentence
error with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from ltoefg import constants as C
from ltoefg import nmr
from ltoefg.classify import (
    DEFAULT_BIN_WIDTH_KHZ,
    DEFAULT_MIN_COUNT,
    DEFAULT_N_REGIONS,
    Classification,
    classify_omega_q,
    plot_classification,
)

from .cli import CommandError, command

if TYPE_CHECKING:
    import ase

    from .models import TensorSoapModel

__all__ = [
    "CSV_COLUMNS",
    "SitePredictions",
    "lab_rotation",
    "load_tensor_model",
    "predict_structures",
    "read_structures",
    "write_chemiscope",
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


@dataclass
class SitePredictions:
    """Predictions for the Li sites of a list of structures.

    Attributes
    ----------
    centres : numpy.ndarray, shape (n, 2), int
        (structure index, atom index) of each Li site.
    efg : numpy.ndarray, shape (n, 3, 3)
        Predicted symmetric traceless EFG tensors in the structures' Cartesian
        frame, V/Å².
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


def load_tensor_model(path: str | PathLike, nucleus: str = "Li") -> TensorSoapModel:
    """Load a λ-SOAP tensor model for ``nucleus``; refuse anything else in one sentence.

    Raises
    ------
    CommandError
        Missing/unreadable file, another model format version, not a
        :class:`~baselines.models.TensorSoapModel`, or not trained on
        ``nucleus`` centres.
    """
    from ase.data import atomic_numbers

    from .models import TensorSoapModel, load_model

    p = Path(path)
    if not p.is_file():
        raise CommandError(f"model file {p} does not exist")
    try:
        model = load_model(p)
    except ValueError as exc:  # format version, not a model file, unknown kind
        raise CommandError(str(exc)) from None
    except (OSError, KeyError) as exc:
        raise CommandError(f"cannot read model file {p}: {exc}") from None
    if not isinstance(model, TensorSoapModel):
        raise CommandError(
            f"{p} holds a {type(model).__name__}; prediction of full EFG tensors needs a "
            "TensorSoapModel (λ-SOAP SA-GPR)"
        )
    z = atomic_numbers[nucleus]
    trained = model.centre_species_
    if trained is not None and trained.size and z not in trained.tolist():
        raise CommandError(
            f"{p} was trained on centres of atomic numbers {trained.tolist()}, not on {nucleus}"
        )
    return model


def read_structures(path: str | PathLike, index: str = ":") -> list[ase.Atoms]:
    """Read all frames of any ase-readable file (format from the extension or content)."""
    from ase.io import read

    p = Path(path)
    if not p.exists():
        raise CommandError(f"structure file {p} does not exist")
    try:
        frames = read(p, index=index)
    except Exception as exc:  # ase raises many types for unreadable input
        raise CommandError(f"cannot read structures from {p}: {exc}") from None
    if not isinstance(frames, list):
        frames = [frames]
    if not frames:
        raise CommandError(f"{p} holds no structures")
    return frames


def lab_rotation(b0_direction: ArrayLike) -> NDArray[np.float64]:
    """Proper rotation R with R n̂ = ẑ for the field direction n̂ (identity for n̂ = ẑ).

    Parameters
    ----------
    b0_direction : array_like, shape (3,)
        Direction of B0 in the Cartesian frame (any length > 0).
    """
    n = np.asarray(b0_direction, dtype=np.float64)
    norm = np.linalg.norm(n)
    if n.shape != (3,) or not norm > 0:
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


def _observables(
    efg: NDArray[np.float64], nucleus: str, rotation: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """CQ (kHz), η, θ, φ (rad), ωQ/2π (kHz) with B0 along R⁻¹ẑ."""
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


def predict_structures(
    frames: Sequence[ase.Atoms],
    model: TensorSoapModel,
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
        Structures, Å; their species must be among the model's neighbour species.
    model : TensorSoapModel
        A fitted λ-SOAP model of that nucleus (:func:`load_tensor_model`).
    nucleus : str
        ``"Li"`` (default), ``"Ti"`` or ``"O"``.
    b0_direction : array_like, shape (3,)
        Direction of B0 in the Cartesian frame (default ẑ).
    bin_width_khz, n_regions, min_count
        Passed to :func:`ltoefg.classify.classify_omega_q`.
    frames_per_batch : int
        Structures whose descriptors are held in memory at once (≈ 50 kB per
        centre at the default hyperparameters: 10 × 288 Li ≈ 150 MB).
    progress : bool
        tqdm progress bar over the batches.

    Returns
    -------
    SitePredictions
    """
    from .features import select_centres

    rotation = lab_rotation(b0_direction)
    centres = select_centres(frames, nucleus)
    if len(centres) == 0:
        raise CommandError(f"the structures contain no {nucleus} atoms")
    starts = list(range(0, len(frames), max(1, int(frames_per_batch))))
    batches: Any = starts
    if progress:
        from tqdm import tqdm

        batches = tqdm(starts, desc=f"predicting {nucleus} EFG", unit="batch")
    t0 = time.perf_counter()
    parts = []
    for s in batches:
        sub = frames[s : s + frames_per_batch]
        rows = centres[(centres[:, 0] >= s) & (centres[:, 0] < s + len(sub))]
        local = rows - np.array([s, 0])
        try:
            parts.append(model.predict(list(sub), local))
        except ValueError as exc:  # e.g. species outside the model's species list
            raise CommandError(f"cannot predict: {exc}") from None
    efg = np.concatenate(parts)
    t1 = time.perf_counter()
    obs = _observables(efg, nucleus, rotation)
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
        Title of the histogram plot (say where the model's training labels
        came from, e.g. "point-charge labels (pcm-v1), not DFT").
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


#: Ellipsoid size in the chemiscope view: semi-axis (Å) of a site with the median |Vzz|.
CHEMISCOPE_MEDIAN_SEMIAXIS = 0.5
#: Radius of the environment drawn around a site in the chemiscope view, Å.
CHEMISCOPE_CUTOFF = 3.5


def chemiscope_target(path: str | PathLike) -> Path:
    """Check a chemiscope output name and that chemiscope is installed (before any work).

    Raises
    ------
    CommandError
        The name does not end with ``.json`` or ``.json.gz``, or chemiscope is missing.
    """
    out = Path(path)
    if not out.name.endswith((".json", ".json.gz")):
        raise CommandError(f"chemiscope file {out} must end with .json or .json.gz")
    try:
        import chemiscope  # noqa: F401
    except ImportError:
        raise CommandError(
            "writing a chemiscope file needs the chemiscope package: "
            "pip install 'ltoefg[baselines]' (or pip install chemiscope)"
        ) from None
    return out


def write_chemiscope(
    path: str | PathLike,
    frames: Sequence[ase.Atoms],
    pred: SitePredictions,
    nucleus: str = "Li",
    description: str = "",
    ellipsoid_scale: float | None = None,
) -> Path:
    """Write a chemiscope input (``.json`` or ``.json.gz``) to explore the predictions.

    The structures, one environment per predicted site, per-site properties —
    ``omega_q_khz`` (ωQ/2π, kHz), ``region`` (text: the ωQ region of the
    classification, or ``unclassified``), ``cq_khz`` (signed, kHz), ``eta``,
    ``theta``/``phi`` (degrees, B0 in the PAS), the principal values ``vxx``,
    ``vyy``, ``vzz`` (V/Å², |Vxx| ≤ |Vyy| ≤ |Vzz|) and ``wyckoff`` where the input
    has it — and the EFG tensors as ellipsoid shapes named ``efg`` (semi-axes
    ``ellipsoid_scale`` × |principal value| along the principal axes, in the
    structures' Cartesian frame; atoms that were not predicted get none; the
    scale is appended to the description). The
    map shows ωQ against CQ coloured by region and the structure viewer colours
    the sites by region (the paper's Fig. 6b). Written with
    :func:`chemiscope.write_input`; open it at chemiscope.org or with
    ``chemiscope.show_input``.

    Parameters
    ----------
    path : str or path-like
        Ends with ``.json`` or ``.json.gz`` (gzip-compressed).
    frames : sequence of ase.Atoms
        The structures that were predicted (same order), Å.
    pred : SitePredictions
    nucleus : str
        The predicted nucleus (for names and the description).
    description : str
        Text shown in the viewer; say where the model's training labels came from.
    ellipsoid_scale : float, optional
        Å of ellipsoid semi-axis per V/Å²; default: the median |Vzz| of the
        predictions is drawn :data:`CHEMISCOPE_MEDIAN_SEMIAXIS` Å long.

    Returns
    -------
    pathlib.Path
    """
    out = chemiscope_target(path)
    import chemiscope

    tab = pred.table
    pas = nmr.principal_axes(pred.efg)
    if ellipsoid_scale is None:
        median = float(np.median(np.abs(pas.vzz))) if len(tab) else 0.0
        ellipsoid_scale = CHEMISCOPE_MEDIAN_SEMIAXIS / median if median > 0 else 1.0
    scale_text = f"EFG ellipsoids: {ellipsoid_scale:.4g} Å of semi-axis per V/Å² of |Vii|"
    names = [f"{k}: {r.lo:.0f} … {r.hi:.0f} kHz" for k, r in enumerate(pred.classification.regions)]
    region = [names[k] if k >= 0 else "unclassified" for k in tab["region"].to_numpy()]

    def atom(values: Any, units: str, text: str) -> dict[str, Any]:
        return {"target": "atom", "values": values, "units": units, "description": text}

    properties = {
        "omega_q_khz": atom(tab["omega_q_khz"].to_numpy(), "kHz", f"{nucleus} ωQ/2π, signed"),
        "region": atom(region, "", "ωQ region of the histogram classification"),
        "cq_khz": atom(tab["cq_khz"].to_numpy(), "kHz", "CQ, signed"),
        "eta": atom(tab["eta"].to_numpy(), "", "asymmetry parameter η"),
        "theta": atom(np.degrees(tab["theta"].to_numpy()), "deg", "polar angle of B0 in the PAS"),
        "phi": atom(np.degrees(tab["phi"].to_numpy()), "deg", "azimuth of B0 in the PAS"),
        **{
            name: atom(pas.eigenvalues[:, i], "V/Å²", f"EFG principal value {label}")
            for i, (name, label) in enumerate(
                (("vxx", "Vxx"), ("vyy", "Vyy"), ("vzz", "Vzz (|Vxx| ≤ |Vyy| ≤ |Vzz|)"))
            )
        },
    }
    if (tab["wyckoff"] != "").all():
        properties["wyckoff"] = atom(tab["wyckoff"].astype(str).tolist(), "", "Wyckoff site")
    # per-atom ellipsoids over every atom of every structure (chemiscope's layout);
    # V·V has the eigenvectors of V and eigenvalues V_i², so chemiscope's helper
    # (semi-axes √eigenvalue · scale) gives semi-axes |V_i| · scale
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in frames])])
    ellipsoids: list[dict[str, Any]] = [{"semiaxes": [0.0, 0.0, 0.0]}] * int(offsets[-1])
    for (i, j), v in zip(pred.centres, pred.efg, strict=True):
        e = chemiscope.ellipsoid_from_tensor(v @ v, scale=float(ellipsoid_scale))
        ellipsoids[int(offsets[i] + j)] = {k: [float(x) for x in e[k]] for k in e}
    settings = chemiscope.quick_settings(
        x="omega_q_khz",
        y="cq_khz",
        map_color="region",
        structure_color="region",
        target="atom",
        structure_settings={"shape": ["efg"], "environments": {"activated": False}},
    )
    chemiscope.write_input(
        str(out),
        structures=[f.copy() for f in frames],
        metadata={
            "name": f"{nucleus} ωQ of {len(frames)} structures ({len(tab)} sites)",
            "description": f"{description}\n{scale_text}" if description else scale_text,
        },
        properties=properties,
        environments=[(int(i), int(j), CHEMISCOPE_CUTOFF) for i, j in pred.centres],
        shapes={"efg": {"kind": "ellipsoid", "parameters": {"global": {}, "atom": ellipsoids}}},
        settings=settings,
    )
    return out


# --- sub-commands -------------------------------------------------------------


def _predict_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("structures", help="any ase-readable structure file (all frames are used)")
    p.add_argument("--model", required=True, help="TensorSoapModel .npz file (model.save)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--nucleus", default="Li", choices=["Li", "Ti", "O"])
    p.add_argument("--index", default=":", help="ase frame selection, e.g. ':' or '::10'")
    p.add_argument(
        "--b0",
        nargs=3,
        type=float,
        default=[0.0, 0.0, 1.0],
        metavar=("X", "Y", "Z"),
        help="direction of B0 in the Cartesian frame (default: z)",
    )
    p.add_argument(
        "--bin-width", type=float, default=DEFAULT_BIN_WIDTH_KHZ, help="histogram bin width, kHz"
    )
    p.add_argument("--regions", type=int, default=DEFAULT_N_REGIONS, help="number of ωQ regions")
    p.add_argument(
        "--min-count",
        type=int,
        default=DEFAULT_MIN_COUNT,
        help="regions grow down to this many sites per bin",
    )
    p.add_argument("--batch", type=int, default=10, help="structures per feature batch")
    p.add_argument("--title", default=None, help="histogram title (name the training labels)")
    p.add_argument("--no-plot", action="store_true", help="skip the PNG")
    p.add_argument(
        "--chemiscope",
        metavar="FILE",
        default=None,
        help="also write a chemiscope input (.json or .json.gz): structures, per-site ωQ, "
        "region and EFG ellipsoids",
    )


@command(
    "predict",
    help="predict EFG tensors, ωQ and ωQ regions of every site of structures",
    arguments=_predict_arguments,
)
def _run_predict(args: argparse.Namespace) -> int:
    if args.chemiscope:
        chemiscope_target(args.chemiscope)
    model = load_tensor_model(args.model, args.nucleus)
    frames = read_structures(args.structures, args.index)
    pred = predict_structures(
        frames,
        model,
        args.nucleus,
        args.b0,
        args.bin_width,
        args.regions,
        args.min_count,
        args.batch,
        progress=True,
    )
    title = figure_title(model, args.nucleus, Path(args.model).name, args.title)
    paths = write_outputs(
        frames,
        pred,
        args.out,
        title=title,
        plot=not args.no_plot,
        metadata={"model": str(args.model), "structures": str(args.structures)},
    )
    if args.chemiscope:
        paths["chemiscope"] = write_chemiscope(
            args.chemiscope, frames, pred, args.nucleus, description=title
        )
    t = pred.timings
    print(
        f"{int(t['n_sites'])} {args.nucleus} sites in {int(t['n_structures'])} structures: "
        f"{t['features_and_prediction']:.1f} s features + prediction, "
        f"{len(pred.classification.regions)} regions, "
        f"{100 * pred.classification.fraction_classified:.1f} % classified"
    )
    for p in paths.values():
        print(f"wrote {p}")
    return 0


def figure_title(model: Any, nucleus: str, model_name: str, title: str | None = None) -> str:
    """Histogram title with a banner naming the model's training labels.

    The banner ("point-charge labels, not DFT", "DFT labels", or "training labels
    unknown") comes from the data set the model records it was trained on, and is
    added below a user-given title too: a figure never hides what its model learnt.
    """
    from ltoefg.report_text import label_phrase

    training = getattr(model, "training_data", None) or {}
    method = training.get("label_method")
    dataset = training.get("dataset", "an unrecorded data set")
    banner = (
        f"model trained on {dataset} ({label_phrase(method)})"
        if method
        else "training labels unknown: not known to be DFT"
    )
    head = title or f"{nucleus} ωQ predicted by {model_name}"
    return f"{head}\n{banner}"


def _lto_models_arguments(p: argparse.ArgumentParser) -> None:
    from ltoefg.data.large_models import DEFAULT_MC_SEED, AnnealSchedule

    d = AnnealSchedule()
    p.add_argument("--n", type=int, default=20, help="number of structures to keep")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--seed", type=int, default=DEFAULT_MC_SEED)
    p.add_argument("--chains", type=int, default=d.n_chains, help="independent MC chains")
    p.add_argument("--anneal-sweeps", type=int, default=d.n_anneal_sweeps)
    p.add_argument("--sample-sweeps", type=int, default=d.n_sample_sweeps)
    p.add_argument("--kt-start", type=float, default=d.kt_start_ev, help="effective kT, eV")
    p.add_argument("--kt-sample", type=float, default=d.kt_sample_ev, help="effective kT, eV")
    p.add_argument(
        "--max-per-chain", type=int, default=1, help="kept structures per chain (0 = no limit)"
    )
    p.add_argument("--jobs", type=int, default=2, help="parallel processes")
    p.add_argument(
        "--rattle",
        type=float,
        default=0.0,
        help="Gaussian displacement of the kept structures, Å (default 0: ideal)",
    )


@command(
    "lto-models",
    help="Monte-Carlo 1512-atom Li4Ti5O12 models (lowest Ewald energies)",
    arguments=_lto_models_arguments,
)
def _run_lto_models(args: argparse.Namespace) -> int:
    from ltoefg.data.large_models import AnnealSchedule, generate_lto_models, write_models

    schedule = AnnealSchedule(
        kt_start_ev=args.kt_start,
        kt_sample_ev=args.kt_sample,
        n_anneal_sweeps=args.anneal_sweeps,
        n_sample_sweeps=args.sample_sweeps,
        n_chains=args.chains,
    )
    t0 = time.perf_counter()
    try:
        models = generate_lto_models(
            n_keep=args.n,
            schedule=schedule,
            seed=args.seed,
            max_per_chain=args.max_per_chain or None,
            n_jobs=args.jobs,
            progress=True,
            rattle_angstrom=args.rattle,
        )
    except (RuntimeError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    paths = write_models(models, args.out)
    e = models.energies_ev
    print(
        f"{len(models.structures)} structures, Ewald energy {e[0]:.3f} … {e[-1]:.3f} eV "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    for p in paths:
        print(f"wrote {p}")
    return 0


def fit_tensor_model(
    dataset: str = C.DEFAULT_DATASET,
    nucleus: str = "Li",
    n_train: int = 3000,
    n_test: int = 2000,
    hypers: Any = None,
    seed: int = 20250906,
) -> tuple[TensorSoapModel, dict[str, Any]]:
    """Fit a λ-SOAP model on a seeded subset of the ``random`` split's training sites.

    Parameters
    ----------
    dataset : str
        Data-set version or path (:func:`ltoefg.load`).
    nucleus : str
        Centre species.
    n_train : int
        Training sites, drawn without replacement from the split's train ids.
    n_test : int
        Test sites (from the split's test ids) scored with :func:`ltoefg.metrics.report`.
    hypers : baselines.models.Hypers, optional
        Default ``Hypers()`` (cutoff 5 Å, σ 0.4 Å, n_max 5, l_max 4, ζ 2,
        regularisation 1e-4, 1000 FPS active environments).
    seed : int
        Seed of the subset draws.

    Returns
    -------
    model : TensorSoapModel
    info : dict
        ``dataset``, ``label_method``, ``n_train``, ``n_test``, ``hypers``,
        ``fit_seconds`` and the test ``report`` (SPEC §6.3 keys).
    """
    import ltoefg
    from ltoefg import metrics

    from .models import Hypers, TensorSoapModel

    ds = ltoefg.load(dataset)
    train, test, _ = ds.split("random", nucleus)
    rng = np.random.default_rng(seed)
    tr = np.sort(rng.choice(train, size=min(n_train, len(train)), replace=False))
    te = np.sort(rng.choice(test, size=min(n_test, len(test)), replace=False))
    sites = ds.sites.set_index("site_id")
    frames = ds.structures()

    def centres(ids: NDArray[np.int64]) -> NDArray[np.int64]:
        return sites.loc[ids, ["structure", "atom_index"]].to_numpy().astype(np.int64)

    model = TensorSoapModel(hypers if hypers is not None else Hypers())
    t0 = time.perf_counter()
    model.fit(frames, centres(tr), ds.efg[tr])
    fit_s = time.perf_counter() - t0
    pred = model.predict(frames, centres(te))
    mu, sigma = ds.stats(nucleus)
    report = metrics.report(ds.efg[te], pred, nucleus, mu=mu, sigma=sigma)
    info = {
        "dataset": str(dataset),
        "label_method": getattr(ds, "label_method", None),
        "nucleus": nucleus,
        "n_train": int(len(tr)),
        "n_test": int(len(te)),
        "hypers": model.hypers.to_dict(),
        "fit_seconds": fit_s,
        "report": report,
    }
    model.training_data = {k: info[k] for k in ("dataset", "label_method", "nucleus", "n_train")}
    return model, info


def _fit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="model file to write (.npz)")
    p.add_argument("--dataset", default=C.DEFAULT_DATASET)
    p.add_argument("--nucleus", default="Li", choices=["Li", "Ti", "O"])
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--n-active", type=int, default=1000)
    p.add_argument("--seed", type=int, default=20250906)


@command(
    "fit-tensor-model",
    help="fit a λ-SOAP EFG model on a subset of a data set's training sites and save it",
    arguments=_fit_arguments,
)
def _run_fit(args: argparse.Namespace) -> int:
    from .models import Hypers

    model, info = fit_tensor_model(
        args.dataset,
        args.nucleus,
        args.n_train,
        args.n_test,
        Hypers(n_active=args.n_active),
        args.seed,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    side = out.with_suffix(".json")
    side.write_text(json.dumps(info, indent=2, default=float) + "\n")
    rep = info["report"]
    print(
        f"{args.nucleus} model on {info['n_train']} {args.dataset} sites "
        f"({info['fit_seconds']:.0f} s); test ({info['n_test']} sites): "
        f"MAE ωQ {rep['mae_omega_q_khz']:.2f} kHz, "
        f"{100 * rep['frac_omega_q_within_10khz']:.1f} % within 10 kHz, score {rep['score']:.4f}"
    )
    print(f"wrote {out} and {side}")
    return 0
