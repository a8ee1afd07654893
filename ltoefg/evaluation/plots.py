"""Parity plots and value distributions of the observables (like the paper's Figs. 3–4).

Needs matplotlib (the ``plot`` extra). This module is imported only when plots
are asked for (``ltoefg evaluate --plots DIR``); ``import ltoefg`` never loads
matplotlib. Figures are drawn with the Agg canvas (no display, no pyplot state).

One figure per nucleus, one column per panel (:func:`panels`): C̃Q, η̃, θ and φ
with the raw PAS labels and — for tensor submissions — after the
eigenvalue-reassignment correction (τ of the report), ωQ, and a zoom on the
ωQ error ΔωQ = ωQ,pred − ωQ,ref within ±:data:`ZOOM_FACTOR` × 10 kHz (at Ti's
±2000 kHz scale the ±10 kHz SAE band of the parity plot is a line). Upper
row: distributions with count axes (reference grey, prediction in colour; for
the zoom, ΔωQ); lower row: parity (for the zoom, ΔωQ against the reference
ωQ). Every figure carries a banner naming its labels ("point-charge labels,
not DFT" or "DFT labels").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import LtoefgError
from ltoefg.metrics import pearson_r

if TYPE_CHECKING:  # pragma: no cover
    from ltoefg.evaluation.score import Evaluation

COLOURS = {"Li": "tab:green", "Ti": "tab:blue", "O": "tab:orange"}
REF_COLOUR = "0.55"
#: The ωQ zoom shows ΔωQ within ± ZOOM_FACTOR × the 10 kHz threshold.
ZOOM_FACTOR = 5.0
#: Banner colours: DFT labels, anything else (point charges, synthetic).
BANNER_COLOURS = {True: "#1b7837", False: "#b2182b"}


@dataclass(frozen=True)
class Panel:
    """One column of a figure: reference and predicted values of one observable.

    Attributes
    ----------
    key : str
        Observable key (``theta_reassigned`` for the reassigned angles).
    label : str
        Title of the column.
    axis : str
        The observable with its unit, for the axes (reference on x, prediction on y).
    ref, pred : numpy.ndarray
        Per-site values in the plotted unit (degrees for angles, kHz for ωQ).
    period : float or None
        Period of the observable (φ: 180°) for its error.
    """

    key: str
    label: str
    axis: str
    ref: NDArray[np.float64]
    pred: NDArray[np.float64]
    period: float | None = None

    def errors(self) -> NDArray[np.float64]:
        """|pred − ref| (periodic where the observable is)."""
        err = np.abs(self.pred - self.ref)
        if self.period is not None:
            err = np.mod(err, self.period)
            err = np.minimum(err, self.period - err)
        return err


def require_matplotlib() -> None:
    """Raise a one-sentence :class:`LtoefgError` if matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LtoefgError(
            "--plots needs matplotlib, which is not installed; install it with "
            "`pip install 'ltoefg[plot]'` or leave out --plots."
        ) from None


def reassigned_angles(
    ref_efg: NDArray[np.float64], pred_efg: NDArray[np.float64], tau: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Predicted θ, φ (radians) after the eigenvalue-reassignment correction of the report.

    Parameters
    ----------
    ref_efg, pred_efg : numpy.ndarray, shape (n, 3, 3)
        Reference and predicted tensors, V/Å².
    tau : float
        Reassignment tolerance, fraction of |Vzz_ref|.
    """
    from ltoefg import metrics, nmr
    from ltoefg.tensors import symmetric_traceless

    pas_ref = nmr.principal_axes(symmetric_traceless(ref_efg))
    pas_pred = nmr.principal_axes(symmetric_traceless(pred_efg))
    frames, _ = metrics.reassign_axes(pas_ref, pas_pred, tau)
    return nmr.angles(frames)


def panels(evaluation: Evaluation, nucleus: str) -> list[Panel]:
    """The panels of one nucleus, in figure order (module docstring)."""
    ref, pred = evaluation.observables(nucleus)
    deg = np.degrees
    tau = float(evaluation.report[C.RT_TAU])
    out = [
        Panel(C.OBS_CQ_TILDE, "C̃Q", "C̃Q", ref[C.OBS_CQ_TILDE], pred[C.OBS_CQ_TILDE]),
        Panel(C.OBS_ETA_TILDE, "η̃", "η̃", ref[C.OBS_ETA_TILDE], pred[C.OBS_ETA_TILDE]),
    ]
    angles = {C.OBS_THETA: ("θ", None), C.OBS_PHI: ("φ", 180.0)}
    again = None
    if evaluation.submission.kind == C.KIND_TENSOR:
        group = evaluation.groups[nucleus]
        again = reassigned_angles(
            evaluation.dataset.efg[group.site_id], group.values[C.PRED_EFG], tau
        )
    for i, (key, (name, period)) in enumerate(angles.items()):
        axis = f"{name} (deg)"
        raw = Panel(key, f"{name}, raw PAS labels", axis, deg(ref[key]), deg(pred[key]), period)
        out.append(raw)
        if again is not None:
            title = f"{name}, reassigned (τ = {tau:g})"
            out.append(
                Panel(f"{key}_reassigned", title, axis, deg(ref[key]), deg(again[i]), period)
            )
    omega = (ref[C.OBS_OMEGA_Q_KHZ], pred[C.OBS_OMEGA_Q_KHZ])
    out.append(Panel(C.OBS_OMEGA_Q_KHZ, "ωQ/2π", "ωQ/2π (kHz)", *omega))
    return out


def _limits(*arrays: NDArray[np.float64]) -> tuple[float, float]:
    lo = float(min(a.min() for a in arrays))
    hi = float(max(a.max() for a in arrays))
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _distribution_and_parity(top: Any, bottom: Any, panel: Panel, colour: str) -> None:
    x, y = panel.ref, panel.pred
    lo, hi = _limits(x, y)
    bins = np.linspace(lo, hi, int(np.clip(2 * np.sqrt(x.size), 10, 60)) + 1)
    top.hist(x, bins=bins, color=REF_COLOUR, alpha=0.8, label="reference")
    top.hist(y, bins=bins, color=colour, alpha=0.55, label="predicted")
    top.set_ylabel("count")
    if panel.key == C.OBS_OMEGA_Q_KHZ:
        band = C.OMEGA_Q_THRESHOLD_KHZ
        grid = np.array([lo, hi])
        bottom.fill_between(
            grid, grid - band, grid + band, color="red", alpha=0.15, lw=0, label=f"±{band:g} kHz"
        )
        bottom.legend(fontsize=8, frameon=False, loc="upper left")
    alpha = 0.6 if x.size < 2000 else 0.25
    bottom.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    bottom.scatter(x, y, s=4, alpha=alpha, color=colour, lw=0, rasterized=True)
    bottom.set_xlim(lo, hi)
    bottom.set_ylim(lo, hi)
    bottom.set_xlabel(f"reference {panel.axis}")
    what = "predicted, reassigned" if panel.key.endswith("_reassigned") else "predicted"
    bottom.set_ylabel(f"{what} {panel.axis}")
    r = pearson_r(x, y)
    r_text = "—" if r is None else f"{r:.2f}"
    top.set_title(f"{panel.label}\nMAE {panel.errors().mean():.3g}, r {r_text}", fontsize=9)


def zoom_view_khz() -> float:
    """Half-width of the ωQ zoom, kHz (:data:`ZOOM_FACTOR` × the 10 kHz threshold)."""
    return ZOOM_FACTOR * C.OMEGA_Q_THRESHOLD_KHZ


def _omega_zoom(top: Any, bottom: Any, panel: Panel, colour: str) -> None:
    band = C.OMEGA_Q_THRESHOLD_KHZ
    view = zoom_view_khz()
    delta = panel.pred - panel.ref
    inside = float(np.mean(np.abs(delta) <= band))
    beyond = float(np.mean(np.abs(delta) > view))
    bins = np.linspace(-view, view, int(2 * view / 2.0) + 1)  # 2 kHz bins
    top.hist(delta, bins=bins, color=colour, alpha=0.7)
    top.axvspan(-band, band, color="red", alpha=0.15, lw=0)
    top.set_ylabel("count")
    top.set_xlim(-view, view)
    top.set_title(
        f"ΔωQ zoom: {100 * inside:.1f} % within ±{band:g} kHz\n"
        f"{100 * beyond:.1f} % off the plot (> {view:g} kHz)",
        fontsize=9,
    )
    lo, hi = _limits(panel.ref)
    bottom.axhspan(-band, band, color="red", alpha=0.15, lw=0, label=f"±{band:g} kHz")
    bottom.axhline(0.0, color="k", lw=0.8)
    alpha = 0.6 if delta.size < 2000 else 0.25
    bottom.scatter(panel.ref, delta, s=4, alpha=alpha, color=colour, lw=0, rasterized=True)
    bottom.set_xlim(lo, hi)
    bottom.set_ylim(-view, view)
    bottom.set_xlabel("reference ωQ/2π (kHz)")
    bottom.set_ylabel("ΔωQ/2π = predicted − reference (kHz)")
    bottom.legend(fontsize=8, frameon=False, loc="upper left")


def banner_text(label_method: str, dataset: str) -> str:
    """The label banner of a figure, e.g. "pcm-v2: point-charge labels, not DFT"."""
    from ltoefg.evaluation.report import label_phrase

    return f"{dataset}: {label_phrase(label_method)}"


def figure_for_nucleus(
    nucleus: str,
    columns: list[Panel],
    title: str,
    banner: str,
    dft: bool,
) -> Any:
    """A matplotlib Figure: a label banner, distributions (upper row) and parity (lower row).

    Parameters
    ----------
    nucleus : str
    columns : list of Panel
        From :func:`panels`; the ωQ panel also gets the ΔωQ zoom column.
    title : str
        What is plotted (data set, split, model).
    banner : str
        The label banner (:func:`banner_text`).
    dft : bool
        Whether the labels are DFT (banner colour).
    """
    from matplotlib.figure import Figure

    colour = COLOURS.get(nucleus, "tab:purple")
    n_cols = len(columns) + 1
    fig = Figure(figsize=(2.75 * n_cols, 7.0), layout="constrained")
    fig.get_layout_engine().set(rect=(0.0, 0.0, 1.0, 0.88))
    axes = fig.subplots(2, n_cols, height_ratios=[1, 2.2])
    for col, panel in enumerate(columns):
        _distribution_and_parity(axes[0, col], axes[1, col], panel, colour)
    omega = next(p for p in columns if p.key == C.OBS_OMEGA_Q_KHZ)
    _omega_zoom(axes[0, -1], axes[1, -1], omega, colour)
    axes[0, 0].legend(fontsize=8, frameon=False, loc="upper right")
    fig.text(
        0.5,
        0.975,
        banner,
        ha="center",
        va="top",
        fontsize=15,
        fontweight="bold",
        color="white",
        bbox={"boxstyle": "round,pad=0.35", "facecolor": BANNER_COLOURS[dft], "lw": 0},
    )
    fig.text(0.5, 0.915, title, ha="center", va="top", fontsize=10)
    return fig


def render_plots(evaluation: Evaluation) -> dict[str, bytes]:
    """One PNG per nucleus, in memory: file name (``<dataset>_<split>_<nucleus>.png``) -> bytes.

    Parameters
    ----------
    evaluation : ltoefg.evaluation.score.Evaluation
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ltoefg.evaluation.score import labels_are_dft
    from ltoefg.nmr import isotope

    rep = evaluation.report
    method = str(rep[C.RT_LABEL_METHOD])
    out: dict[str, bytes] = {}
    for nucleus in rep[C.RT_NUCLEI]:
        title = (
            f"{isotope(nucleus).name} test set ({rep[C.RT_NUCLEI][nucleus][C.R_N]} sites), "
            f"split {rep[C.RT_SPLIT]}, model {rep[C.RT_MODEL] or '(unnamed)'} ({rep[C.RT_KIND]}); "
            "upper: distributions (grey: reference), lower: parity; last column: ΔωQ zoom"
        )
        fig = figure_for_nucleus(
            nucleus,
            panels(evaluation, nucleus),
            title,
            banner_text(method, str(rep[C.RT_DATASET])),
            labels_are_dft(method),
        )
        FigureCanvasAgg(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=100, format="png")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{rep[C.RT_DATASET]}_{rep[C.RT_SPLIT]}_{nucleus}")
        out[f"{stem.lstrip('.')}.png"] = buffer.getvalue()
    return out


def write_plots(evaluation: Evaluation, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the PNGs of :func:`render_plots` into ``out_dir`` (created if missing), all or none.

    Returns
    -------
    list of pathlib.Path
    """
    from ltoefg.io.outputs import check_dir_target, commit

    out = check_dir_target(out_dir, "plots")
    files = {out / name: data for name, data in render_plots(evaluation).items()}
    return commit(files, new_dirs=(out,))
