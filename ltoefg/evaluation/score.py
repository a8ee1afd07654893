"""Score a submission against its data set (SPEC §6): ``ltoefg.evaluate(...)``.

The evaluator reads a ``predictions.h5`` file (or the same content as a dict),
validates everything first (attributes, ids, dtypes, shapes, values; see
:mod:`ltoefg.evaluation.submission`), aligns the predictions to the reference by
``site_id`` and only then computes the per-nucleus reports of
:mod:`ltoefg.metrics`. It never writes anything; the CLI writes the JSON report
and plots after a successful evaluation.

``ltoefg.evaluate`` is the function :func:`evaluate` of this module.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg import metrics, nmr
from ltoefg.data import Dataset
from ltoefg.errors import DataError, LtoefgError
from ltoefg.evaluation import submission as S

Report = dict[str, Any]


@dataclass
class Evaluation:
    """The result of :func:`run`: the report plus what plots need.

    Attributes
    ----------
    report : dict
        The JSON-able report (SPEC §6.3 plus ``label_method``, ``label_description``,
        ``strict``, ``symmetry_rtol``, ``n_projected``).
    submission : Submission
    dataset : ltoefg.Dataset
    groups : dict
        nucleus -> :class:`ltoefg.evaluation.submission.ValidGroup` (aligned to the test ids).
    """

    report: Report
    submission: S.Submission
    dataset: Dataset
    groups: dict[str, S.ValidGroup]

    def observables(
        self, nucleus: str
    ) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
        """Per-site reference and predicted observables of one nucleus (for plots).

        Returns
        -------
        (ref, pred) : dict, dict
            ``cq_tilde``, ``eta_tilde``, ``theta``, ``phi`` (radians) and
            ``omega_q_khz`` (kHz), each (n,), in ``site_id`` order.
        """
        group = self.groups[nucleus]
        mu, sigma = self.dataset.stats(nucleus)
        ref = nmr.observable_arrays(self.dataset.efg[group.site_id], nucleus, mu, sigma)
        if self.submission.kind == C.KIND_TENSOR:
            pred = nmr.observable_arrays(group.values[C.PRED_EFG], nucleus, mu, sigma)
        else:
            pred = dict(group.values)
            pred[C.OBS_OMEGA_Q_KHZ] = metrics.predicted_omega_q(pred, nucleus, mu, sigma)
        keys = (C.OBS_CQ_TILDE, C.OBS_ETA_TILDE, C.OBS_THETA, C.OBS_PHI, C.OBS_OMEGA_Q_KHZ)
        return {k: ref[k] for k in keys}, {k: pred[k] for k in keys}


def labels_are_dft(label_method: str) -> bool:
    """Whether a data set's label method is DFT (``dft-…``); ``pcm-v1`` is not."""
    return label_method.startswith(C.LABEL_METHOD_DFT_PREFIX)


@dataclass(frozen=True)
class _Header:
    """What is known of a submission before its arrays are read."""

    source: str
    dataset: str
    split: str


def _open_dataset(head: _Header, dataset: Dataset | str | os.PathLike[str] | None) -> Dataset:
    """The reference data set: the one given by the caller, or the registered version named.

    The submission's ``dataset`` attribute is only ever looked up in the registry;
    it is never opened as a path (a local file comes from ``--dataset-file``).
    """
    from ltoefg.data import load, registry

    if isinstance(dataset, (str, os.PathLike)):
        dataset = load(dataset)  # the caller's (operator's) choice, never the submission's
    if dataset is not None:
        if dataset.name != head.dataset:
            raise S.refusal(
                head.source,
                S.ROOT,
                f"attribute 'dataset' is {head.dataset!r} but the data set given is "
                f"{dataset.name!r} ({dataset.path})",
            )
        return dataset
    known = registry.registry()
    if head.dataset not in known:
        raise S.refusal(
            head.source,
            S.ROOT,
            f"attribute 'dataset' is {head.dataset!r}, which is not a registered data-set "
            f"version (registered: {', '.join(sorted(known))}); to score against a local "
            "data-set file pass --dataset-file FILE (or dataset=... in Python)",
        )
    try:
        return load(head.dataset)
    except DataError as exc:
        raise S.refusal(
            head.source,
            S.ROOT,
            f"attribute 'dataset' is {head.dataset!r}, which cannot be opened "
            f"({' '.join(str(exc).split()).rstrip('.')}); to score against a local data-set "
            "file pass --dataset-file FILE (or dataset=... in Python)",
        ) from None


def _read_limits(ds: Dataset, split: str) -> dict[str, int]:
    """nucleus -> most ids a group may declare: twice the split's test ids (duplicates show)."""
    limits = {}
    for nucleus in ds.counts():
        try:
            limits[nucleus] = 2 * int(np.asarray(ds.split(split, nucleus).test).size)
        except DataError:
            limits[nucleus] = 0
    return limits


def _checked_stats(ds: Dataset, nucleus: str) -> tuple[float, float]:
    """(μ, σ) of |Vzz|; a data set whose μ or σ is not positive and finite is refused."""
    mu, sigma = ds.stats(nucleus)
    if not (math.isfinite(mu) and math.isfinite(sigma) and mu > 0 and sigma > 0):
        raise DataError(
            f"{ds.path}: the data set's |Vzz| statistics of {nucleus} are mu = {mu:g}, "
            f"sigma = {sigma:g} V/Å², but the metrics divide by them; rebuild the data set "
            "with more (and non-zero) tensors of that nucleus."
        )
    return mu, sigma


def _check_tau(tau: float) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise LtoefgError(f"tau must be a number, got {tau!r}.") from None
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise LtoefgError(f"tau must lie in [0, 1) (a fraction of |Vzz_ref|), got {tau!r}.")
    return value


def run(
    path_or_arrays: str | os.PathLike[str] | Mapping[str, Any],
    *,
    dataset: Dataset | str | os.PathLike[str] | None = None,
    tau: float = C.DEFAULT_TAU,
    strict: bool = False,
    nuclei: Iterable[str] | str | None = None,
) -> Evaluation:
    """Validate and score a submission; see :func:`evaluate` (this also returns the arrays)."""
    from ltoefg.version import __version__

    tau = _check_tau(tau)
    sub: S.Submission | None = None
    if isinstance(path_or_arrays, Mapping):
        sub = S.from_mapping(path_or_arrays)
        head = _Header(sub.source, sub.dataset, sub.split)
    else:
        attrs = S.read_attributes(path_or_arrays)
        head = _Header(str(path_or_arrays), attrs[C.ATTR_DATASET], attrs[C.ATTR_SPLIT])
    if head.split not in C.SPLITS:
        raise S.refusal(
            head.source,
            S.ROOT,
            f"attribute 'split' is {head.split!r}, expected one of {', '.join(C.SPLITS)}",
        )
    ds = _open_dataset(head, dataset)
    if sub is None:  # a file: read its arrays only now, bounded by the split's sizes
        sub = S.read(path_or_arrays, limits=_read_limits(ds, head.split))  # type: ignore[arg-type]
    chosen = S.resolve_nuclei(sub, nuclei)

    # 1. validate every chosen group before computing anything
    groups: dict[str, S.ValidGroup] = {}
    stats: dict[str, tuple[float, float]] = {}
    for nucleus in chosen:
        expected = S.split_test_ids(ds, sub, nucleus)
        groups[nucleus] = S.validate_group(sub, nucleus, expected, strict=strict)
        if nucleus not in ds.counts():
            raise S.refusal(sub.source, nucleus, f"data set {ds.name!r} has no {nucleus} sites")
        stats[nucleus] = _checked_stats(ds, nucleus)

    # 2. score
    per_nucleus: dict[str, dict[str, Any]] = {}
    for nucleus, group in groups.items():
        mu, sigma = stats[nucleus]
        ref = ds.efg[group.site_id]
        if sub.kind == C.KIND_TENSOR:
            rep = metrics.report(
                ref, group.values[C.PRED_EFG], nucleus, mu=mu, sigma=sigma, tau=tau
            )
        else:
            rep = metrics.report_observables(ref, group.values, nucleus, mu=mu, sigma=sigma)
        per_nucleus[nucleus] = rep
    scores = [r[C.R_SCORE] for r in per_nucleus.values()]
    overall = None if any(s is None for s in scores) else float(np.mean(scores))
    omega_source = {
        n: C.OMEGA_Q_FROM_TENSOR if sub.kind == C.KIND_TENSOR else metrics.omega_q_source(g.values)
        for n, g in groups.items()
    }
    report: Report = {
        C.RT_REPORT_VERSION: C.REPORT_VERSION,
        C.RT_DATASET: sub.dataset,
        C.RT_SPLIT: sub.split,
        C.RT_MODEL: sub.model,
        C.RT_KIND: sub.kind,
        C.RT_VERSION: __version__,
        C.RT_LABEL_METHOD: ds.label_method,
        C.RT_LABEL_DESCRIPTION: ds.label_description,
        C.RT_TAU: tau,
        C.RT_STRICT: bool(strict),
        C.RT_SYMMETRY_RTOL: S.SYMMETRY_RTOL,
        C.RT_N_PROJECTED: {n: g.n_projected for n, g in groups.items()},
        C.RT_OMEGA_Q_SOURCE: omega_source,
        C.RT_NUCLEI: per_nucleus,
        C.RT_SCORE: overall,
    }
    return Evaluation(report=report, submission=sub, dataset=ds, groups=groups)


def evaluate(
    path_or_arrays: str | os.PathLike[str] | Mapping[str, Any],
    *,
    dataset: Dataset | str | os.PathLike[str] | None = None,
    tau: float = C.DEFAULT_TAU,
    strict: bool = False,
    nuclei: Iterable[str] | str | None = None,
) -> Report:
    """Score a submission and return the JSON-able report (SPEC §6.3).

    Parameters
    ----------
    path_or_arrays : str, path-like or mapping
        A ``predictions.h5`` file, or its content as a dict::

            {"dataset": "pcm-v1", "split": "random", "model": "my model",
             "kind": "tensor",                       # or "observables"
             "Li": {"site_id": ids, "efg": tensors}, # (n,), (n, 3, 3) V/Å²
             ...}

        so that a training loop can score itself without writing a file. Ids
        may come in any order; predictions are aligned to the reference by id.
    dataset : ltoefg.Dataset, str or path-like, optional
        The data set to score against: an opened one, or a version name or file
        for :func:`ltoefg.load` (its name must equal the submission's
        ``dataset``); default: ``ltoefg.load(<dataset attribute>)``.
    tau : float
        Eigenvalue-reassignment tolerance τ, a fraction of |Vzz_ref| (default 0.1).
    strict : bool
        Refuse tensors that are not symmetric and traceless (relative tolerance
        :data:`ltoefg.evaluation.submission.SYMMETRY_RTOL`) instead of projecting them.
    nuclei : iterable of str or comma-separated str, optional
        Score only these nuclei (each must be in the submission); default: all
        nucleus groups present.

    Returns
    -------
    dict
        Top level: ``report_version`` (2), ``dataset``, ``split``, ``model``,
        ``kind``, ``ltoefg_version``, ``label_method``, ``label_description``,
        ``tau``, ``strict``, ``symmetry_rtol``, ``n_projected`` (nucleus -> count
        of projected tensors, None for observables), ``omega_q_source`` (nucleus
        -> ``"tensor"``, ``"submitted"``, ``"derived, sign_vzz given"`` or
        ``"derived, Vzz > 0 assumed"``), ``nuclei`` (nucleus -> the SPEC §6.3
        keys; angles in degrees, ωQ in kHz, Vij in V/Å²) and ``score`` (mean over
        nuclei; None for observables submissions). No value is NaN or inf.

    Raises
    ------
    ltoefg.errors.SubmissionError
        The submission is malformed (one sentence naming the file, group and
        problem).
    """
    return run(path_or_arrays, dataset=dataset, tau=tau, strict=strict, nuclei=nuclei).report
