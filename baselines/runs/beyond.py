"""Pipeline glue of the two baselines beyond the paper: tune, fit, predict, record.

* ``lode`` — λ-SOAP + LODE SA-GPR (:mod:`baselines.models.lode`). Box-Behnken over the
  LODE smearing σ_LODE ∈ [0.3, 0.9] Å, the LODE basis radius ∈ [1.5, 3.5] Å and
  the regularisation ∈ [1e-6, 1e-2] (log); the λ-SOAP part keeps the run's
  hyperparameters (quick: cutoff 5 Å, σ 0.4 Å, n_max 5, l_max 4, ζ 2) and the
  LODE weight w = 1 and n_max 5 are fixed.
* ``delta`` — point-charge prior with fitted effective charges + λ-SOAP SA-GPR
  of the residual (:mod:`baselines.models.delta`). Box-Behnken over the residual
  model's cutoff, σ and regularisation (:data:`baselines.runs.setup.HPO_FACTORS`);
  the three factors of the prior are refitted by least squares on every
  training set (each CV fold included).

Both are scored like the λ-SOAP baseline: 5-fold CV on the frozen folds,
minimising the paper's score mean(MAE C̃Q, MAE η̃, mean(1 − ξ)) of the *total*
prediction; the best measured point of the design wins. The CV spread at the
final hyperparameters, the saved model (``model-<key>-<nucleus>.npz``) and the
hyperparameters go into the entry through :func:`baselines.runs.pipeline.run`,
which calls :func:`run_nucleus`.

Caches: λ-SOAP descriptors and LODE coefficients are kept for one
hyperparameter set at a time per training set (the LODE design reuses one
λ-SOAP set for all its points); the prior's unit-charge fields are computed
once per structure and shared by every nucleus and run of the process
(:func:`field_cache`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import ltoefg
from baselines.engine.doe import Factor, SearchResult, box_behnken_search
from baselines.engine.features import Descriptors, compute_descriptors
from baselines.models.delta import (
    PRIOR_SPECIES,
    DeltaDescriptors,
    DeltaTensorModel,
    FieldCache,
)
from baselines.models.lode import (
    LodeDescriptors,
    LodeHypers,
    LodeTensorModel,
    lode_coefficients,
)
from baselines.models.soap import Hypers, TensorSoapModel
from baselines.runs import cv_spread as CVS
from baselines.runs import setup as P
from ltoefg import constants as C

__all__ = [
    "DELTA_FACTORS",
    "KEYS",
    "LODE_FACTORS",
    "NucleusFit",
    "QUICK_LODE",
    "QUICK_NUCLEI",
    "best_from_record",
    "cross_validate",
    "entry_notes",
    "field_cache",
    "fit_predict",
    "hypers_from_record",
    "make_model",
    "run_nucleus",
    "tune",
]

#: Command-line keys of the models of this module.
KEYS: tuple[str, ...] = ("lode", "delta")

#: Box-Behnken factors of ``lode`` (names of LodeHypers or Hypers fields).
LODE_FACTORS: tuple[Factor, ...] = (
    Factor("smearing", 0.3, 0.9),
    Factor("radius", 1.5, 3.5),
    Factor("regularisation", 1e-6, 1e-2, log=True),
)
#: Box-Behnken factors of ``delta`` (the residual λ-SOAP model's).
DELTA_FACTORS: tuple[Factor, ...] = P.HPO_FACTORS
#: LODE hyperparameters of ``quick`` and the base of the search.
QUICK_LODE = LodeHypers(smearing=0.6, radius=2.0, n_max=5, weight=1.0)
#: Nuclei of the ``quick`` runs of these models: ⁷Li only, so that
#: CI, which reruns ``quick``, grows by ~2 min rather than ~8 (the λ-SOAP descriptors of
#: the 13,776 test sites of all three nuclei dominate a quick run).
QUICK_NUCLEI: tuple[str, ...] = ("Li",)

_LODE_FIELDS = {f.name for f in dataclasses.fields(LodeHypers)}
_FIELD_CACHES: dict[int, FieldCache] = {}


def field_cache(frames: Sequence[Any]) -> FieldCache:
    """The process-wide :class:`~baselines.models.delta.FieldCache` of ``frames`` (by identity)."""
    key = id(frames)
    if key not in _FIELD_CACHES or _FIELD_CACHES[key].frames is not frames:
        _FIELD_CACHES[key] = FieldCache(frames)
    return _FIELD_CACHES[key]


def make_model(key: str, hypers: Hypers, lode: LodeHypers) -> TensorSoapModel:
    """An unfitted model of ``key`` (``"lode"`` or ``"delta"``)."""
    if key == "lode":
        return LodeTensorModel(hypers, lode)
    if key == "delta":
        return DeltaTensorModel(hypers)
    raise ValueError(f"unknown model key {key!r}; expected one of {KEYS}")


def apply_values(
    hypers: Hypers, lode: LodeHypers, values: Mapping[str, float]
) -> tuple[Hypers, LodeHypers]:
    """Hypers and LODE hypers with the design's ``values`` put in (by field name)."""
    lode_values = {k: v for k, v in values.items() if k in _LODE_FIELDS}
    other = {k: v for k, v in values.items() if k not in _LODE_FIELDS}
    return dataclasses.replace(hypers, **other), dataclasses.replace(lode, **lode_values)


class DescriptorCache:
    """Descriptors of the model ``key`` for fixed centres, one hyperparameter set at a time."""

    def __init__(self, key: str, frames: Sequence[Any], centres: NDArray[np.int64]):
        self.key = key
        self.frames = frames
        self.centres = centres
        self._soap: tuple[tuple, Descriptors] | None = None
        self._lode: tuple[LodeHypers, NDArray[np.float64]] | None = None

    def get(self, hypers: Hypers, lode: LodeHypers) -> Descriptors:
        """:class:`LodeDescriptors` (``lode``) or :class:`DeltaDescriptors` (``delta``)."""
        soap = hypers.soap()
        if self._soap is None or self._soap[0] != soap:
            self._soap = (soap, compute_descriptors(self.frames, self.centres, soap))
        base = vars(self._soap[1])
        if self.key == "delta":
            return DeltaDescriptors(**base, fields=field_cache(self.frames).get(self.centres))
        if self._lode is None or self._lode[0] != lode:
            self._lode = (lode, lode_coefficients(self.frames, self.centres, lode))
        return LodeDescriptors(**base, lode=self._lode[1])


def cross_validate(
    key: str,
    desc: Descriptors,
    efg: NDArray[np.float64],
    folds: CVS.Folds,
    hypers: Hypers,
    lode: LodeHypers,
    nucleus: str,
    mu: float,
    sigma: float,
) -> list[dict[str, float | None]]:
    """Refit on each fold (rows of ``desc``/``efg``) and score its validation sites.

    Returns the per-fold score and MAEs (:data:`baselines.runs.cv_spread.RUN_KEYS`).
    """
    out = []
    for tr, va in folds:
        model = make_model(key, hypers, lode).fit_descriptors(desc.subset(tr), efg[tr])
        pred = model.predict_descriptors(desc.subset(va))
        out.append(CVS.tensor_fold_metrics(efg[va], pred, nucleus, mu, sigma))
    return out


def tune(
    key: str,
    ds: ltoefg.Dataset,
    split: str,
    nucleus: str,
    base: Hypers,
    lode: LodeHypers,
    n_cv: int | None,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Box-Behnken search (:data:`LODE_FACTORS` / :data:`DELTA_FACTORS`) with 5-fold CV.

    Runs on the seeded ``n_cv``-site subset of the frozen folds that the λ-SOAP
    search uses (:func:`baselines.runs.pipeline.cv_setup`); ``base`` and ``lode`` give
    everything the design does not vary (incl. the active environments).
    """
    setup = P.cv_setup(ds, split, nucleus, n_cv, salt=C.NUCLEI.index(nucleus))
    cache = DescriptorCache(key, P.frames(ds), setup.train.centres)
    mu, sigma = ds.stats(nucleus)

    def evaluate(values: Mapping[str, float]) -> Mapping[str, float]:
        h, lh = apply_values(base, lode, values)
        t0 = time.perf_counter()
        desc = cache.get(h, lh)
        folds = cross_validate(key, desc, setup.train.efg, setup.folds, h, lh, nucleus, mu, sigma)
        score = float(np.mean([f[C.R_SCORE] for f in folds]))
        took = time.perf_counter() - t0
        log(f"  {nucleus} {key} {dict(values)} -> score {score:.4g} ({took:.0f} s)")
        return {"score": score}

    factors = LODE_FACTORS if key == "lode" else DELTA_FACTORS
    return box_behnken_search(factors, evaluate)


def best_from_record(key: str, record: Mapping[str, Any]) -> dict[str, float]:
    """Values of the design's factors in an entry's per-nucleus record (``hypers``, ``lode``)."""
    merged = {**record["hypers"], **record.get("lode", {})}
    factors = LODE_FACTORS if key == "lode" else DELTA_FACTORS
    return {f.name: float(merged[f.name]) for f in factors}


def hypers_from_record(
    key: str, base: Hypers, record: Mapping[str, Any] | None
) -> tuple[Hypers, LodeHypers]:
    """Final hyperparameters: ``base`` and :data:`QUICK_LODE` with an entry's tuned values."""
    if record is None:
        return base, QUICK_LODE
    return apply_values(base, QUICK_LODE, best_from_record(key, record))


def fit_predict(
    key: str,
    frames: Sequence[Any],
    train: P.NucleusData,
    test: P.NucleusData,
    hypers: Hypers,
    lode: LodeHypers,
) -> NDArray[np.float64]:
    """Fit ``key`` on ``train`` and predict the tensors of ``test`` (V/Å²), no bookkeeping."""
    model = make_model(key, hypers, lode)
    model.fit_descriptors(DescriptorCache(key, frames, train.centres).get(hypers, lode), train.efg)
    return model.predict_descriptors(DescriptorCache(key, frames, test.centres).get(hypers, lode))


def entry_notes(key: str, records: Mapping[str, Mapping[str, Any]]) -> str:
    """Model-specific sentence for an entry's notes (the prior's fitted factors of ``delta``)."""
    if key != "delta":
        return ""
    parts = [
        f"{nucleus} ("
        + ", ".join(f"{s} {a:.4g}" for s, a in rec["prior_scale_factors_e"].items())
        + ")"
        for nucleus, rec in records.items()
    ]
    return " Prior effective charges a_s (e) fitted per nucleus: " + "; ".join(parts) + "."


@dataclass
class NucleusFit:
    """One nucleus of a run: predictions and what the entry records.

    Attributes
    ----------
    efg : numpy.ndarray, shape (n_test, 3, 3)
        Predicted tensors, V/Å².
    train_s, predict_s : float
        Wall-clock seconds of descriptors + fit, and of test descriptors + prediction.
    record : dict
        Hyperparameters (and the CV table of a search, the prior's factors, ...).
    folds : list of dict
        Per-fold metrics of the CV spread at the final hyperparameters.
    n_parameters : int
        Fitted parameters (GPR weights; + the prior's factors for ``delta``).
    cv_sites : int
        Sites of the CV spread.
    n_active_cv : int or None
        Active environments of the CV spread (None: those of the final fit).
    model_path : pathlib.Path
        Where the fitted model was saved.
    """

    efg: NDArray[np.float64]
    train_s: float
    predict_s: float
    record: dict[str, Any]
    folds: list[dict[str, float | None]]
    n_parameters: int
    cv_sites: int
    n_active_cv: int | None
    model_path: Path


def _final_hypers(
    key: str, ds: ltoefg.Dataset, opts: P.RunOptions, nucleus: str, log: Callable[[str], None]
) -> tuple[Hypers, LodeHypers, dict[str, Any]]:
    """Hyperparameters of the final fit: tuned (``opts.hpo``), reused (``opts.fixed``) or fixed."""
    record: dict[str, Any] = {}
    hypers, lode = opts.hypers, QUICK_LODE
    if opts.hpo:
        log(f"{key}: tuning {nucleus} (Box-Behnken, 5-fold CV on {opts.n_cv} sites)")
        base = dataclasses.replace(hypers, n_active=opts.n_active_cv)
        search = tune(key, ds, opts.split, nucleus, base, lode, opts.n_cv, log)
        record.update(
            cv_table=search.table, cv_training_sites=opts.n_cv, cv_n_active=opts.n_active_cv
        )
        hypers, lode = apply_values(hypers, lode, search.best["score"])
    elif opts.fixed is not None:
        hypers, lode = hypers_from_record(key, hypers, opts.fixed[nucleus])
        record["hypers_from"] = "earlier entry (see notes)"
    return hypers, lode, record


def run_nucleus(
    key: str,
    ds: ltoefg.Dataset,
    opts: P.RunOptions,
    nucleus: str,
    train: P.NucleusData,
    test: P.NucleusData,
    out_dir: Path,
    log: Callable[[str], None] = print,
) -> NucleusFit:
    """Tune (optionally), fit on ``train``, predict ``test``, CV spread and save the model."""
    frames = P.frames(ds)
    mu, sigma = ds.stats(nucleus)
    hypers, lode, record = _final_hypers(key, ds, opts, nucleus, log)
    log(f"{key}: fitting {nucleus} on {train.ids.size} sites, predicting {test.ids.size}")
    t0 = time.perf_counter()
    model = make_model(key, hypers, lode)
    desc = DescriptorCache(key, frames, train.centres).get(hypers, lode)
    model.fit_descriptors(desc, train.efg)
    t1 = time.perf_counter()
    pred = model.predict_descriptors(DescriptorCache(key, frames, test.centres).get(hypers, lode))
    t2 = time.perf_counter()
    model.training_data = {
        "dataset": ds.name,
        "label_method": ds.label_method,
        "split": opts.split,
        "nucleus": nucleus,
        "n_train": int(train.ids.size),
    }
    path = out_dir / f"model-{key}-{nucleus}.npz"
    model.save(path)
    record["hypers"] = hypers.to_dict()
    record["train_wall_time_s"] = round(t1 - t0, 1)  # per nucleus (the entry's are totals)
    record["predict_wall_time_s"] = round(t2 - t1, 1)
    n_parameters = CVS.weights_count(model)
    if isinstance(model, LodeTensorModel):
        record["lode"] = lode.to_dict()
        record["lode_scale"] = model.lode_scale_
    if isinstance(model, DeltaTensorModel):
        assert model.scale_factors_ is not None
        record["prior_scale_factors_e"] = dict(
            zip(PRIOR_SPECIES, map(float, model.scale_factors_), strict=True)
        )
        n_parameters += len(PRIOR_SPECIES)
    rows, n_active_cv = P.cv_sites(ds, opts, nucleus, train)
    folds = CVS.restrict_folds(ds.split(opts.split, nucleus).folds, train.ids[rows])
    h_cv = hypers if n_active_cv is None else dataclasses.replace(hypers, n_active=n_active_cv)
    t3 = time.perf_counter()
    fold_runs = cross_validate(
        key, desc.subset(rows), train.efg[rows], folds, h_cv, lode, nucleus, mu, sigma
    )
    record["cv_folds_wall_time_s"] = round(time.perf_counter() - t3, 1)
    return NucleusFit(
        pred, t1 - t0, t2 - t1, record, fold_runs, n_parameters, int(rows.size), n_active_cv, path
    )
