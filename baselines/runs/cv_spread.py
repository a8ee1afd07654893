"""Spread of a baseline over the 5 frozen CV folds at its final hyperparameters.

After the hyperparameters are fixed (tuned, reused from an earlier entry, or
the quick ones), :mod:`baselines.runs.pipeline` refits the model on each of the 5
frozen folds of the split, restricted to the *CV sites*, and scores the
validation sites of each fold. The per-fold score and MAEs of C̃Q, η̃ and ωQ,
their mean and population standard deviation, go into the entry's ``n_runs``
and ``runs`` fields (:func:`ltoefg.leaderboard.fields.make_runs`).

CV sites (:func:`cv_rows`), always training sites of the run, so the
descriptors computed for the final fit are reused:

* a run on at most ``n_cv`` training sites (``quick``: 1200): all of them;
* a run on the whole training set: the seeded ``n_cv``-site subset the
  Box-Behnken search uses (:func:`baselines.runs.pipeline.cv_setup`), so the spread
  belongs to the CV table of the search;
* otherwise a seeded ``n_cv``-site subset of the run's training sites.

The sparse GPRs of the folds use the search's number of active environments
(``n_active_cv``, 500), not the final fit's: the setting of the search's CV
table, and it keeps the 15 extra fits of ``quick`` short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.engine.features import Descriptors
from baselines.models.soap import Hypers, ScalarSoapModel, TensorSoapModel
from ltoefg import constants as C
from ltoefg import metrics

#: Metrics recorded per fold.
RUN_KEYS: tuple[str, ...] = C.RUN_HEADLINE_KEYS

Folds = list[tuple[NDArray[np.int64], NDArray[np.int64]]]


def restrict_folds(
    folds: Sequence[tuple[NDArray[np.int64], NDArray[np.int64]]], ids: NDArray[np.int64]
) -> Folds:
    """The frozen folds restricted to ``ids``, as (train, validation) positions into ``ids``."""
    pos = {int(i): k for k, i in enumerate(ids)}
    out = []
    for tr, va in folds:
        tr_rows = np.array([pos[int(i)] for i in tr if int(i) in pos], dtype=np.int64)
        va_rows = np.array([pos[int(i)] for i in va if int(i) in pos], dtype=np.int64)
        out.append((tr_rows, va_rows))
    return out


def cv_rows(
    train_ids: NDArray[np.int64],
    tuning_ids: NDArray[np.int64] | None,
    n_cv: int | None,
    subsample: Any,
    salt: int,
) -> NDArray[np.int64]:
    """Positions into ``train_ids`` (sorted) of the CV sites (module docstring).

    Parameters
    ----------
    train_ids : numpy.ndarray
        Sorted training site ids of the run.
    tuning_ids : numpy.ndarray or None
        The search's CV subset (sorted site ids), if the run could share it.
    n_cv : int or None
        Most CV sites (None: all training sites).
    subsample : callable
        ``subsample(ids, n, salt)``, the seeded subset of the pipeline.
    salt : int
        Seed salt of the fallback subset.
    """
    if n_cv is None or train_ids.size <= n_cv:
        return np.arange(train_ids.size, dtype=np.int64)
    if tuning_ids is not None and np.isin(tuning_ids, train_ids).all():
        chosen = tuning_ids
    else:
        chosen = subsample(train_ids, n_cv, salt)
    return np.searchsorted(train_ids, chosen).astype(np.int64)


def tensor_fold_metrics(
    ref: NDArray[np.float64], pred: NDArray[np.float64], nucleus: str, mu: float, sigma: float
) -> dict[str, float | None]:
    """Score and MAEs of one fold's validation tensors (V/Å²)."""
    rep = metrics.report(ref, pred, nucleus, mu, sigma)
    return {k: rep[k] for k in RUN_KEYS}


#: Report key -> the scalar target whose plain MAE it is.
_OBSERVABLE_MAE: dict[str, str] = {
    C.R_MAE_CQ_TILDE: C.OBS_CQ_TILDE,
    C.R_MAE_ETA_TILDE: C.OBS_ETA_TILDE,
    C.R_MAE_OMEGA_Q_KHZ: C.OBS_OMEGA_Q_KHZ,
}


def observable_fold_metrics(
    ref: Mapping[str, NDArray[np.float64]], pred: Mapping[str, NDArray[np.float64]]
) -> dict[str, float | None]:
    """MAEs of C̃Q, η̃ and the direct ωQ model (kHz) of one fold; no score (no ξ)."""
    out: dict[str, float | None] = {C.R_SCORE: None}
    for key, obs in _OBSERVABLE_MAE.items():
        out[key] = float(np.mean(np.abs(pred[obs] - ref[obs])))
    return {k: out[k] for k in RUN_KEYS}


def tensor_folds(
    desc: Descriptors,
    efg: NDArray[np.float64],
    folds: Folds,
    hypers: Hypers,
    nucleus: str,
    mu: float,
    sigma: float,
) -> list[dict[str, float | None]]:
    """Refit λ-SOAP SA-GPR on each fold (rows of ``desc``/``efg``) and score its validation."""
    out = []
    for tr, va in folds:
        model = TensorSoapModel(hypers).fit_descriptors(desc.subset(tr), efg[tr])
        pred = model.predict_descriptors(desc.subset(va))
        out.append(tensor_fold_metrics(efg[va], pred, nucleus, mu, sigma))
    return out


def scalar_folds(
    descs: Mapping[Hypers, Descriptors],
    groups: Mapping[Hypers, Sequence[str]],
    targets: Mapping[str, NDArray[np.float64]],
    folds: Folds,
) -> list[dict[str, float | None]]:
    """Refit the scalar SOAP GPRs (one per hyperparameter set) on each fold and score them.

    Parameters
    ----------
    descs : mapping
        Hypers -> λ = 0 descriptors of the CV sites (rows as in ``targets``).
    groups : mapping
        Hypers -> the targets fitted with them.
    targets : mapping
        Target name -> values of the CV sites.
    folds : list
        (train, validation) rows.
    """
    out = []
    for tr, va in folds:
        pred: dict[str, NDArray[np.float64]] = {}
        for h, names in groups.items():
            y = {t: targets[t][tr] for t in names}
            model = ScalarSoapModel(h).fit_descriptors(descs[h].subset(tr), y)
            pred.update(model.predict_descriptors(descs[h].subset(va)))
        ref = {k: targets[k][va] for k in _OBSERVABLE_MAE.values()}
        out.append(observable_fold_metrics(ref, pred))
    return out


def weights_count(*models: Any) -> int:
    """Fitted weights of sparse GPR models: active environments × outputs, summed."""
    return int(sum(m.gpr_.weights_.size for m in models))
