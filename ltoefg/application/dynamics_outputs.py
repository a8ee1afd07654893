"""Tables and figures of the dynamics observables (a :class:`~.dynamics.DynamicsReport`).

Files (``python -m baselines dynamics FILE.h5 ... --out DIR --plots DIR``):

``dynamics_sites.csv``
    one row per site: ``replica``, ``atom_index``, ``wyckoff``, the residual
    (time-averaged) ``omega_q_khz``, ``cq_khz`` and ``eta`` of the
    time-averaged tensor, the rms fluctuation ``omega_q_rms_khz`` and the
    ``region`` of the residual-ωQ histogram classification (−1 = none).
``dynamics_correlations.csv``
    one row per lag: ``lag_frames`` (of the block-averaged series), ``t_m_s``
    (empty without Δt), ``acf`` and ``f2_tp_<t_p>us`` for every t_p.
``dynamics_summary.json``
    inputs, units, the F₂ plateaus and site statistics.
``residual_omega_q_histogram.png``
    the static ωQ distribution (every frame and site) beside the residual one.
``f2_correlation.png``
    F₂(t_p, t_m) against t_m for every t_p, with the static value and the
    no-exchange plateau.
``omega_q_autocorrelation.png``
    per site the rms fluctuation of ωQ and |residual ωQ|, beside the
    site-averaged normalised autocorrelation of ωQ.

Every figure carries the banner of the model's training labels
(:func:`ltoefg.application.banner.label_banner`). Matplotlib is imported only
when a figure is drawn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ltoefg.application.banner import label_banner
from ltoefg.application.classify import classify_omega_q
from ltoefg.application.dynamics import DynamicsReport
from ltoefg.application.predict import lab_rotation, site_observables

__all__ = [
    "dynamics_tables",
    "plot_autocorrelation",
    "plot_f2",
    "plot_residual_histogram",
    "time_axis",
    "write_dynamics",
]

#: Units for the t_m axis: (name, seconds), largest first.
_TIME_UNITS: tuple[tuple[str, float], ...] = (
    ("s", 1.0),
    ("ms", 1e-3),
    ("µs", 1e-6),
    ("ns", 1e-9),
    ("ps", 1e-12),
    ("fs", 1e-15),
)


def time_axis(report: DynamicsReport) -> tuple[NDArray[np.float64], str]:
    """t_m values and axis label: in a readable time unit, or in frames without Δt."""
    seconds = report.lag_time_s
    if seconds is None:
        frames = report.correlations.lags * report.block
        return frames.astype(np.float64), r"$t_m$ / frames (no frame interval given)"
    top = float(seconds.max()) if seconds.size else 0.0
    name, scale = next(((n, s) for n, s in _TIME_UNITS if top >= s), _TIME_UNITS[-1])
    return seconds / scale, rf"$t_m$ / {name}"


def dynamics_tables(report: DynamicsReport) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-site table, per-lag table) as written to the CSV files."""
    av = report.averages
    obs = site_observables(av.mean_efg, report.nucleus, lab_rotation(report.b0_direction))
    regions = classify_omega_q(av.residual_omega_q_khz).labels
    sites = pd.DataFrame(
        {
            "replica": report.replica,
            "atom_index": report.atom_index,
            "wyckoff": report.wyckoff,
            "omega_q_khz": av.residual_omega_q_khz,
            "cq_khz": obs["cq_khz"],
            "eta": obs["eta"],
            "omega_q_rms_khz": av.omega_q_rms_khz,
            "region": regions,
        }
    )
    cor = report.correlations
    seconds = report.lag_time_s
    lags = pd.DataFrame(
        {
            "lag_frames": cor.lags * report.block,
            "t_m_s": seconds if seconds is not None else np.full(len(cor.lags), np.nan),
            "acf": cor.acf,
            **{f"f2_tp_{tp:g}us": cor.f2[p] for p, tp in enumerate(cor.tp_us)},
        }
    )
    return sites, lags


def _summary(report: DynamicsReport) -> dict[str, Any]:
    av, cor = report.averages, report.correlations
    return {
        "files": report.files,
        "nucleus": report.nucleus,
        "b0_direction": report.b0_direction.tolist(),
        "frame_interval_s": report.frame_interval_s,
        "block_frames": report.block,
        "n_sites": len(report.atom_index),
        "n_frames_total": av.n_frames,
        "training_data": report.training_data,
        "labels": label_banner(report.training_data),
        "units": {
            "efg": "V/Angstrom^2",
            "omega_q": "kHz (omega_Q / 2 pi)",
            "t_p": "us",
            "t_m": "s (t_m_s) or frames (lag_frames)",
            "phase": "omega_Q * t_p = 2 pi * (omega_Q/2pi in kHz) * 1e3 * (t_p in us) * 1e-6",
        },
        "residual_omega_q_khz": {
            "mean_abs": float(np.mean(np.abs(av.residual_omega_q_khz))),
            "median_abs": float(np.median(np.abs(av.residual_omega_q_khz))),
            "max_abs": float(np.max(np.abs(av.residual_omega_q_khz))),
        },
        "static_omega_q_khz": {
            "mean_abs": float(np.mean(np.abs(report.static_omega_q_khz))),
            "median_abs": float(np.median(np.abs(report.static_omega_q_khz))),
            "max_abs": float(np.max(np.abs(report.static_omega_q_khz))),
        },
        "omega_q_rms_khz_mean": float(np.mean(av.omega_q_rms_khz)),
        "f2": {
            f"{tp:g}us": {
                "static": float(cor.f2[p, 0]),
                "last_lag": float(cor.f2[p, -1]),
                "plateau_no_exchange": float(cor.f2_plateau[p]),
            }
            for p, tp in enumerate(cor.tp_us)
        },
    }


def _figure(ncols: int = 1, width: float = 6.5) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, 4.2), layout="constrained", squeeze=False)


def _banner(fig: Any, report: DynamicsReport, head: str) -> None:
    fig.suptitle(f"{head}\n{label_banner(report.training_data)}", fontsize="medium")


def _nice_width(span: float, bins: int = 60) -> float:
    """The smallest 1, 2 or 5 × 10ᵏ kHz that covers ``span`` in at most ``bins`` bins."""
    raw = max(span, 1e-9) / bins
    exponent = np.floor(np.log10(raw))
    return float(
        min(m * 10.0**e for e in (exponent, exponent + 1) for m in (1, 2, 5) if m * 10.0**e >= raw)
    )


def plot_residual_histogram(report: DynamicsReport, head: str | None = None) -> Any:
    """Static ωQ (every frame and site) beside the residual (time-averaged) ωQ per site."""
    fig, axes = _figure(2, 10.0)
    static = report.static_omega_q_khz
    residual = report.averages.residual_omega_q_khz
    lo = float(min(static.min(), residual.min()))
    hi = float(max(static.max(), residual.max()))
    width = _nice_width(hi - lo)
    edges = np.arange(np.floor(lo / width), np.floor(hi / width) + 1.5) * width
    for ax, values, colour, what, unit in (
        (axes[0, 0], static, "#B0B0B0", "static: every frame and site", "site-frames"),
        (axes[0, 1], residual, "#0072B2", "residual: time average per site", "sites"),
    ):
        weights = np.full(len(values), 100.0 / len(values))
        ax.hist(values, bins=edges, weights=weights, color=colour)
        ax.set_xlabel(r"$\omega_Q/2\pi$ / kHz")
        ax.set_ylabel(f"% of {unit} per {width:g} kHz bin")
        ax.set_title(
            f"{what}\nn = {len(values)}, median |ωQ/2π| = {np.median(np.abs(values)):.1f} kHz",
            fontsize="small",
        )
    _banner(fig, report, head or f"{report.nucleus} ωQ: static and motionally averaged")
    return fig


def plot_f2(report: DynamicsReport, head: str | None = None) -> Any:
    """F₂(t_p, t_m) against t_m, one curve per t_p, with static values and plateaus."""
    fig, axes = _figure()
    ax = axes[0, 0]
    x, label = time_axis(report)
    cor = report.correlations
    for p, tp in enumerate(cor.tp_us):
        (line,) = ax.plot(x, cor.f2[p], marker="o", ms=2.5, lw=1.2, label=f"$t_p$ = {tp:g} µs")
        ax.axhline(cor.f2_plateau[p], color=line.get_color(), ls=":", lw=0.8)
    ax.plot([], [], color="k", ls=":", lw=0.8, label="no-exchange plateau")
    ax.set_xlabel(label)
    ax.set_ylabel(r"$F_2(t_p, t_m)$")
    ax.legend(fontsize="small", frameon=False)
    _banner(
        fig,
        report,
        head
        or f"{report.nucleus} SAE $F_2$ over {len(report.atom_index)} sites "
        f"(block {report.block} frame{'s' if report.block > 1 else ''})",
    )
    return fig


def plot_autocorrelation(report: DynamicsReport, head: str | None = None) -> Any:
    """Per-site rms fluctuation and |residual| of ωQ, beside the averaged autocorrelation."""
    fig, axes = _figure(2, 10.0)
    x, label = time_axis(report)
    cor = report.correlations
    ax = axes[0, 1]
    ax.plot(x, cor.acf, marker="o", ms=2.5, color="#0072B2")
    ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xlabel(label)
    ax.set_ylabel(r"$\sum_i C_i(t_m) / \sum_i C_i(0)$")
    ax.set_title("normalised autocorrelation of ωQ", fontsize="small")
    ax = axes[0, 0]
    n = len(report.atom_index)
    av = report.averages
    ax.bar(np.arange(n), av.omega_q_rms_khz, width=1.0, color="#E69F00", label="rms fluctuation")
    residual = np.abs(av.residual_omega_q_khz)
    ax.plot(np.arange(n), residual, ".", ms=2, color="#0072B2", label="|residual ωQ/2π|")
    ax.set_xlabel("site")
    ax.set_ylabel("kHz")
    ax.set_title("per site: fluctuation and residual", fontsize="small")
    ax.legend(fontsize="small", frameon=False)
    _banner(fig, report, head or f"{report.nucleus} ωQ fluctuations")
    return fig


def write_dynamics(
    report: DynamicsReport,
    out_dir: str | Path | None = None,
    plots_dir: str | Path | None = None,
) -> list[Path]:
    """Write the tables (``out_dir``) and the figures (``plots_dir``); returns the paths.

    Folders are created if needed.
    """
    written: list[Path] = []
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        sites, lags = dynamics_tables(report)
        for name, table in (("dynamics_sites.csv", sites), ("dynamics_correlations.csv", lags)):
            table.to_csv(out / name, index=False, float_format="%.10g")
            written.append(out / name)
        path = out / "dynamics_summary.json"
        path.write_text(json.dumps(_summary(report), indent=2) + "\n")
        written.append(path)
    if plots_dir is not None:
        import matplotlib.pyplot as plt

        plots = Path(plots_dir)
        plots.mkdir(parents=True, exist_ok=True)
        for name, draw in (
            ("residual_omega_q_histogram.png", plot_residual_histogram),
            ("f2_correlation.png", plot_f2),
            ("omega_q_autocorrelation.png", plot_autocorrelation),
        ):
            fig = draw(report)
            fig.savefig(plots / name, dpi=150)
            plt.close(fig)
            written.append(plots / name)
    return written
