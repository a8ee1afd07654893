"""Parity plots and value distributions of the observables (like the paper's Figs. 3–4).

Needs matplotlib (the ``plot`` extra). This module is imported only when plots
are asked for (``ltoefg evaluate --plots DIR``); ``import ltoefg`` never loads
matplotlib. Figures are drawn with the Agg canvas (no display, no pyplot state).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import LtoefgError
from ltoefg.metrics import pearson_r

if TYPE_CHECKING:  # pragma: no cover
    from ltoefg.evaluate import Evaluation

#: (observable key, axis label, converts radians to degrees)
PANELS: tuple[tuple[str, str, bool], ...] = (
    (C.OBS_CQ_TILDE, "C̃Q", False),
    (C.OBS_ETA_TILDE, "η̃", False),
    (C.OBS_THETA, "θ (deg)", True),
    (C.OBS_PHI, "φ (deg)", True),
    (C.OBS_OMEGA_Q_KHZ, "ωQ/2π (kHz)", False),
)
COLOURS = {"Li": "tab:green", "Ti": "tab:blue", "O": "tab:orange"}
REF_COLOUR = "0.55"


def require_matplotlib() -> None:
    """Raise a one-sentence :class:`LtoefgError` if matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise LtoefgError(
            "--plots needs matplotlib, which is not installed; install it with "
            "`pip install 'ltoefg[plot]'` or leave out --plots."
        ) from None


def _to_unit(values: NDArray[np.float64], degrees: bool) -> NDArray[np.float64]:
    return np.degrees(values) if degrees else values


def figure_for_nucleus(
    nucleus: str,
    ref: dict[str, NDArray[np.float64]],
    pred: dict[str, NDArray[np.float64]],
    title: str,
) -> Any:
    """A matplotlib Figure: upper row value distributions, lower row parity plots.

    Parameters
    ----------
    nucleus : str
    ref, pred : dict
        Per-site observables (``cq_tilde``, ``eta_tilde``, ``theta``, ``phi`` in
        radians, ``omega_q_khz`` in kHz), same order.
    title : str
        Figure title.
    """
    from matplotlib.figure import Figure

    colour = COLOURS.get(nucleus, "tab:purple")
    fig = Figure(figsize=(17, 6.2), layout="constrained")
    axes = fig.subplots(2, len(PANELS), height_ratios=[1, 2.4], sharex="col")
    alpha = 0.6 if len(ref[C.OBS_CQ_TILDE]) < 2000 else 0.25
    for col, (key, label, degrees) in enumerate(PANELS):
        x = _to_unit(ref[key], degrees)
        y = _to_unit(pred[key], degrees)
        lo = float(min(x.min(), y.min()))
        hi = float(max(x.max(), y.max()))
        pad = 0.03 * (hi - lo) if hi > lo else 1.0
        lo, hi = lo - pad, hi + pad
        n_bins = int(np.clip(2 * np.sqrt(x.size), 10, 60))
        bins = np.linspace(lo, hi, n_bins + 1)
        top, bottom = axes[0, col], axes[1, col]
        top.hist(x, bins=bins, color=REF_COLOUR, alpha=0.8, label="reference")
        top.hist(y, bins=bins, color=colour, alpha=0.55, label="predicted")
        top.set_yticks([])
        if col == 0:
            top.legend(fontsize=8, frameon=False, loc="upper right")
        if key == C.OBS_OMEGA_Q_KHZ:
            band = C.OMEGA_Q_THRESHOLD_KHZ
            grid = np.array([lo, hi])
            bottom.fill_between(
                grid,
                grid - band,
                grid + band,
                color="red",
                alpha=0.15,
                lw=0,
                label=f"±{band:g} kHz (SAE resolution)",
            )
            bottom.legend(fontsize=8, frameon=False, loc="upper left")
        bottom.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        bottom.scatter(x, y, s=4, alpha=alpha, color=colour, lw=0, rasterized=True)
        bottom.set_xlim(lo, hi)
        bottom.set_ylim(lo, hi)
        bottom.set_xlabel(f"reference {label}")
        bottom.set_ylabel(f"predicted {label}")
        err = np.abs(y - x)
        if key == C.OBS_PHI:
            err = np.minimum(np.mod(err, 180.0), 180.0 - np.mod(err, 180.0))
        r = pearson_r(x, y)
        r_text = "—" if r is None else f"{r:.2f}"
        top.set_title(f"{label}: MAE {err.mean():.3g}, r {r_text}", fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def render_plots(evaluation: Evaluation) -> dict[str, bytes]:
    """One PNG per nucleus, in memory: file name (``<dataset>_<split>_<nucleus>.png``) -> bytes.

    Parameters
    ----------
    evaluation : ltoefg.evaluate.Evaluation
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ltoefg.nmr import isotope
    from ltoefg.report_text import label_phrase

    rep = evaluation.report
    out: dict[str, bytes] = {}
    for nucleus in rep[C.RT_NUCLEI]:
        ref, pred = evaluation.observables(nucleus)
        title = (
            f"{isotope(nucleus).name} test set, data set {rep[C.RT_DATASET]} "
            f"({label_phrase(rep[C.RT_LABEL_METHOD])}), "
            f"split {rep[C.RT_SPLIT]}, model {rep[C.RT_MODEL] or '(unnamed)'} ({rep[C.RT_KIND]}); "
            "upper: value distributions (grey: reference), lower: parity"
        )
        fig = figure_for_nucleus(nucleus, ref, pred, title)
        FigureCanvasAgg(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, dpi=110, format="png")
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{rep[C.RT_DATASET]}_{rep[C.RT_SPLIT]}_{nucleus}")
        out[f"{stem.lstrip('.')}.png"] = buffer.getvalue()
    return out


def write_plots(evaluation: Evaluation, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the PNGs of :func:`render_plots` into ``out_dir`` (created if missing), all or none.

    Returns
    -------
    list of pathlib.Path
    """
    from ltoefg.outputs import check_dir_target, commit

    out = check_dir_target(out_dir, "plots")
    files = {out / name: data for name, data in render_plots(evaluation).items()}
    return commit(files, new_dirs=(out,))
