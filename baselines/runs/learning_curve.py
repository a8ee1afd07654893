"""Learning curves of the baselines (paper Fig. 5): metrics vs. training-set size.

For each size n, a seeded subset of n training ids of the frozen split is
fitted with fixed (tuned) hyperparameters and the whole test set is scored
with :mod:`ltoefg.metrics`: C̃Q, η̃, θ, φ (and ωQ) for the scalar models
(Fig. 5a) and the same quantities extracted from the tensor models (λ-SOAP,
Fig. 5b, the pair-feature ridge, and the models beyond the paper, λ-SOAP + LODE and
Δ-learning of :mod:`baselines.runs.beyond`), plus MAE(Vij) and mean(1 − ξ) for them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import ltoefg
from baselines.models.soap import Hypers
from baselines.runs import beyond
from baselines.runs import pipeline as P
from ltoefg import constants as C
from ltoefg import metrics

#: Columns of the learning-curve table (report keys, degrees and kHz).
CURVE_KEYS: tuple[str, ...] = (
    C.R_MAE_CQ_TILDE,
    C.R_MAE_ETA_TILDE,
    C.R_MAE_THETA_DEG,
    C.R_MAE_PHI_DEG,
    C.R_MAE_OMEGA_Q_KHZ,
    C.R_FRAC_OMEGA_Q_WITHIN,
    C.R_MAE_VIJ,
    C.R_MAE_XI,
)


def _hypers(kind: str, record: Mapping[str, Any] | None, n_active: int) -> Any:
    base = dataclasses.replace(P.QUICK_HYPERS, n_active=n_active)
    if record is None:
        return base if kind == C.KIND_TENSOR else {t: base for t in P.SCALAR_TARGETS}
    best = P._best_from_record(kind, record)
    if kind == C.KIND_TENSOR:
        return dataclasses.replace(base, **best["score"])
    return {t: dataclasses.replace(base, **v) for t, v in best.items()}


def learning_curve(
    nucleus: str,
    split: str,
    sizes: Sequence[int | None],
    entries: Mapping[str, Mapping[str, Any]],
    n_active: int,
    dataset: str = C.DEFAULT_DATASET,
    models: Sequence[str] = ("tensor", "scalar", "ridge"),
) -> pd.DataFrame:
    """One row per (model, size) with the metrics of :data:`CURVE_KEYS`.

    Parameters
    ----------
    nucleus, split : str
    sizes : sequence of int or None
        Training-set sizes (None: all training ids).
    entries : mapping
        kind → the ``hyperparameters`` field of a leaderboard entry (tuned values);
        a missing kind uses the quick hyperparameters. The models of
        :mod:`baselines.runs.beyond` look under their own key (``"lode"``, ``"delta"``).
    n_active : int
        Active environments (capped at the training-set size).
    dataset : str
        Registered data-set version (default: the embedded default).
    models : sequence of str
        Keys of :data:`baselines.runs.pipeline.MODELS` to run.
    """
    ds = ltoefg.load(dataset)
    frames = P._frames(ds)
    sp = ds.split(split, nucleus)
    test = P.nucleus_data(ds, sp.test, nucleus)
    mu, sigma = ds.stats(nucleus)
    rows = []
    for key in models:
        kind = P.MODELS[key].kind
        source = key if key in beyond.KEYS else kind
        record = entries.get(source, {}).get(nucleus) if entries.get(source) else None
        for size in sizes:
            ids = P.subsample(sp.train, size, salt=100 + C.NUCLEI.index(nucleus))
            train = P.nucleus_data(ds, ids, nucleus)
            active = min(n_active, ids.size)
            t0 = time.perf_counter()
            if key == "ridge":
                pred, *_ = P.fit_predict_ridge(ds, split, nucleus, train, test, frames)
                rep = metrics.report(test.efg, pred, nucleus, mu, sigma)
                model = P.RIDGE_MODEL
            elif key in beyond.KEYS:
                base = dataclasses.replace(P.QUICK_HYPERS, n_active=active)
                h, lode = beyond.hypers_from_record(key, base, record)
                pred = beyond.fit_predict(key, frames, train, test, h, lode)
                rep = metrics.report(test.efg, pred, nucleus, mu, sigma)
                model = P.MODELS[key].name
            elif kind == C.KIND_TENSOR:
                h: Hypers = dataclasses.replace(_hypers(kind, record, active), n_active=active)
                pred, *_ = P.fit_predict_tensor(frames, train, test, h)
                rep = metrics.report(test.efg, pred, nucleus, mu, sigma)
                model = P.TENSOR_MODEL
            else:
                per_target = {
                    t: dataclasses.replace(v, n_active=active)
                    for t, v in _hypers(kind, record, active).items()
                }
                pred_obs, *_ = P.fit_predict_scalar(frames, train, test, per_target)
                rep = metrics.report_observables(test.efg, pred_obs, nucleus, mu, sigma)
                model = P.SCALAR_MODEL
            row = {"model": model, "n_train": int(ids.size)}
            row.update({k: rep[k] for k in CURVE_KEYS})
            row["wall_time_s"] = round(time.perf_counter() - t0, 1)
            rows.append(row)
            print(
                f"  {model} n={ids.size}: C̃Q {rep[C.R_MAE_CQ_TILDE]:.3f}, "
                f"θ {rep[C.R_MAE_THETA_DEG]:.1f}°, ωQ {rep[C.R_MAE_OMEGA_Q_KHZ]:.1f} kHz"
            )
    return pd.DataFrame(rows)


def write(
    table: pd.DataFrame,
    out: Path,
    nucleus: str,
    split: str,
    dataset: str = C.DEFAULT_DATASET,
    label_method: str = "point-charge-ewald",
) -> tuple[Path, Path | None]:
    """Write the table (CSV) and, where matplotlib is installed, the plot (PNG)."""
    from ltoefg.evaluation.report import label_phrase

    out.mkdir(parents=True, exist_ok=True)
    stem = f"{dataset}__{split}__{nucleus}"
    csv = out / f"{stem}.csv"
    table.to_csv(csv, index=False, float_format="%.6g")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return csv, None
    panels = (
        (C.R_MAE_CQ_TILDE, "MAE C̃Q"),
        (C.R_MAE_ETA_TILDE, "MAE η̃"),
        (C.R_MAE_THETA_DEG, "MAE θ (°)"),
        (C.R_MAE_PHI_DEG, "MAE φ (°)"),
        (C.R_MAE_OMEGA_Q_KHZ, "MAE ωQ (kHz)"),
    )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.0 * len(panels), 3.0), constrained_layout=True
    )
    for ax, (key, label) in zip(axes, panels, strict=True):
        for model, marker in (
            (P.SCALAR_MODEL, "s"),
            (P.TENSOR_MODEL, "o"),
            (P.RIDGE_MODEL, "^"),
            (P.LODE_MODEL, "D"),
            (P.DELTA_MODEL, "v"),
        ):
            sub = table[table["model"] == model]
            if len(sub):
                ax.loglog(sub["n_train"], sub[key], marker=marker, label=model)
        ax.set_xlabel(f"training {nucleus} sites")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(
        f"Learning curves, {nucleus}, {dataset} {split} split ({label_phrase(label_method)})",
        fontsize=10,
    )
    png = out / f"{stem}.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return csv, png


__all__ = ["CURVE_KEYS", "learning_curve", "write"]
