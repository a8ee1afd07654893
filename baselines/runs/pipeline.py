"""Train, tune and evaluate the reference baselines on a data-set version (SPEC §7).

Two models per nucleus, as the paper frames them:

* ``scalar SOAP GPR`` — sparse GPR on the λ = 0 SOAP kernel, one model per
  scalar target C̃Q, η̃, θ, φ (each with its own tuned hyperparameters) plus a
  direct model of ωQ (paper Fig. 4a). Submitted as ``kind = observables``; θ
  and φ predictions are clipped into [0, π/2] and [−π/2, π/2] (a regression
  can leave the range; the evaluator would refuse it).
* ``λ-SOAP SA-GPR`` — one sparse SA-GPR per nucleus on the 5 real-spherical
  components of the traceless EFG. Submitted as ``kind = tensor``.
* ``pair-feature ridge`` — 36 scalar coefficients per nucleus on equivariant
  pair features of the point-charge labeller's own form
  (:mod:`baselines.models.pair_ridge`); ridge strength by 5-fold CV on the frozen
  folds. A sanity row: on point-charge data it shows how much a model of the
  labeller's form explains. Submitted as ``kind = tensor``.

Every run writes a ``predictions.h5`` in the submission format, scores it with
:func:`ltoefg.evaluate` (exactly what third parties get) and writes a
leaderboard entry with the hyperparameters, the CV table, n_train and wall
times, the code path and a description, the fitted-parameter count per
nucleus, and the spread over the 5 frozen CV folds at the final
hyperparameters (:mod:`baselines.runs.cv_spread`).

Hyperparameters (``--hpo``): a Box-Behnken design over cutoff, Gaussian width
and regularisation (ζ = 2 fixed), each point scored by 5-fold CV on the frozen
folds, minimising the paper's objectives (scalar: the target's MAE; tensor:
mean(MAE C̃Q, MAE η̃, mean(1 − ξ))). See :mod:`baselines.engine.doe`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

import ltoefg
from baselines.engine.doe import SearchResult, box_behnken_search
from baselines.engine.features import Descriptors, compute_descriptors
from baselines.models.soap import Hypers, ScalarSoapModel, TensorSoapModel
from baselines.runs import cv_spread as CVS
from baselines.runs.setup import (
    HPO_FACTORS,
    SCALAR_TARGETS,
    CVSetup,
    NucleusData,
    RunOptions,
    cv_setup,
    nucleus_data,
    subsample,
)
from baselines.runs.setup import QUICK_HYPERS as QUICK_HYPERS  # handed on: the quick runs' settings
from baselines.runs.setup import QUICK_N_TRAIN as QUICK_N_TRAIN
from baselines.runs.setup import cv_sites as _cv_sites
from baselines.runs.setup import frames as _frames
from ltoefg import constants as C
from ltoefg import leaderboard, metrics, nmr
from ltoefg.evaluation import submission as S
from ltoefg.leaderboard import fields as LF

TENSOR_MODEL = "λ-SOAP SA-GPR"
SCALAR_MODEL = "scalar SOAP GPR"
RIDGE_MODEL = "pair-feature ridge"
LODE_MODEL = "λ-SOAP + LODE SA-GPR"
DELTA_MODEL = "Δ point-charge prior + λ-SOAP SA-GPR"


@dataclass(frozen=True)
class ModelSpec:
    """A baseline: its submission kind and leaderboard name."""

    kind: str
    name: str


#: Where each baseline's code is (a path in this repository; there is no public URL).
CODE_PATHS: dict[str, str] = {
    "tensor": "baselines/models/soap.py",
    "scalar": "baselines/models/soap.py",
    "ridge": "baselines/models/pair_ridge.py",
    "lode": "baselines/models/lode.py",
    "delta": "baselines/models/delta.py",
}
#: One sentence per baseline for the leaderboard.
DESCRIPTIONS: dict[str, str] = {
    "tensor": "Sparse λ-SOAP SA-GPR (featomic λ = 2 power spectra, kernel k₂·k₀^(ζ−1), "
    "farthest-point-sampled active environments), one model of the traceless EFG per "
    "nucleus, as in Harper, Köcher, Reuter & Scheurer, J. Mater. Chem. A 2025, §2.5.",
    "scalar": "Sparse scalar SOAP GPR, one model per nucleus and target (C̃Q, η̃, θ, φ, and "
    "ωQ directly), as in Harper, Köcher, Reuter & Scheurer, J. Mater. Chem. A 2025, §2.4.",
    "ridge": "Ridge regression on 36 exactly equivariant pair features per nucleus (12 radial "
    "bins × 3 neighbour species, 7 Å): the point-charge labeller's own form, a sanity row "
    "on pcm data.",
    "lode": "Sparse SA-GPR on λ-SOAP joined with the λ = 2 LODE coefficients of each species' "
    "periodic Coulomb potential (featomic), which carry the EFG of charges beyond the cutoff "
    "(LODE: Grisafi & Ceriotti, J. Chem. Phys. 2019).",
    "delta": "Δ-learning: Ewald point-charge EFG with 3 fitted per-species effective charges "
    "(a Sternheimer-like prior) + sparse λ-SOAP SA-GPR of the residual.",
}

#: The baselines by command-line key.
MODELS: dict[str, ModelSpec] = {
    "tensor": ModelSpec(C.KIND_TENSOR, TENSOR_MODEL),
    "scalar": ModelSpec(C.KIND_OBSERVABLES, SCALAR_MODEL),
    "ridge": ModelSpec(C.KIND_TENSOR, RIDGE_MODEL),
    "lode": ModelSpec(C.KIND_TENSOR, LODE_MODEL),
    "delta": ModelSpec(C.KIND_TENSOR, DELTA_MODEL),
}
_ANGLE_RANGE = {C.OBS_THETA: (0.0, np.pi / 2), C.OBS_PHI: (-np.pi / 2, np.pi / 2)}


class FeatureCache:
    """Descriptors of the sites of one nucleus, cached per descriptor hyperparameters."""

    def __init__(self, frames: Sequence[Any], data: NucleusData, lambdas: tuple[int, ...]):
        self.frames = frames
        self.data = data
        self.lambdas = lambdas
        self._cache: dict[tuple, Descriptors] = {}

    def get(self, hypers: Hypers) -> Descriptors:
        """Descriptors of every site of :attr:`data` (rows in its order)."""
        key = (hypers.cutoff, hypers.sigma, hypers.n_max, hypers.l_max, hypers.cutoff_width)
        if key not in self._cache:
            self._cache.clear()  # one set at a time keeps memory bounded
            self._cache[key] = compute_descriptors(
                self.frames, self.data.centres, hypers.soap(), lambdas=self.lambdas
            )
        return self._cache[key]


def _clip_angles(pred: Mapping[str, NDArray[np.float64]]) -> dict[str, NDArray[np.float64]]:
    out = dict(pred)
    for key, (lo, hi) in _ANGLE_RANGE.items():
        if key in out:
            out[key] = np.clip(out[key], lo, hi)
    return out


def scalar_errors(
    ref: Mapping[str, NDArray[np.float64]], pred: Mapping[str, NDArray[np.float64]]
) -> dict[str, float]:
    """MAE per scalar target (θ, φ in radians; φ periodic; ωQ in kHz)."""
    out = {}
    for key in pred:
        if key == C.OBS_PHI:
            err = metrics.phi_error(ref[key], pred[key])
        else:
            err = np.abs(pred[key] - ref[key])
        out[key] = float(np.mean(err))
    return out


def tensor_objective(
    ref_efg: NDArray[np.float64],
    pred_efg: NDArray[np.float64],
    nucleus: str,
    mu: float,
    sigma: float,
) -> float:
    """The paper's tensor HPO objective: mean(MAE C̃Q, MAE η̃, mean(1 − ξ))."""
    rep = metrics.report(ref_efg, pred_efg, nucleus, mu, sigma)
    return float(rep[C.R_SCORE])


def cross_validate(
    kind: str,
    setup: CVSetup,
    cache: FeatureCache,
    hypers: Hypers,
    nucleus: str,
    mu: float,
    sigma: float,
) -> dict[str, float]:
    """Mean 5-fold CV objective(s) at ``hypers``: tensor → {"score"}, scalar → MAE per target."""
    desc = cache.get(hypers)
    per_fold: list[dict[str, float]] = []
    for tr, va in setup.folds:
        if kind == C.KIND_TENSOR:
            model = TensorSoapModel(hypers).fit_descriptors(desc.subset(tr), setup.train.efg[tr])
            pred = model.predict_descriptors(desc.subset(va))
            per_fold.append(
                {"score": tensor_objective(setup.train.efg[va], pred, nucleus, mu, sigma)}
            )
        else:
            targets = {k: v[tr] for k, v in setup.train.targets.items()}
            model = ScalarSoapModel(hypers).fit_descriptors(desc.subset(tr), targets)
            pred = _clip_angles(model.predict_descriptors(desc.subset(va)))
            ref = {k: v[va] for k, v in setup.train.targets.items()}
            per_fold.append(scalar_errors(ref, pred))
    return {k: float(np.mean([f[k] for f in per_fold])) for k in per_fold[0]}


def tune(
    kind: str,
    ds: ltoefg.Dataset,
    split: str,
    nucleus: str,
    base: Hypers,
    n_cv: int | None,
    log: Callable[[str], None] = print,
) -> SearchResult:
    """Box-Behnken search of :data:`HPO_FACTORS` with 5-fold CV on ``n_cv`` training sites.

    ``base`` supplies every hyperparameter the design does not vary (including
    the number of active environments used inside the CV).
    """
    setup = cv_setup(ds, split, nucleus, n_cv, salt=C.NUCLEI.index(nucleus))
    lambdas = (0, 2) if kind == C.KIND_TENSOR else (0,)
    cache = FeatureCache(_frames(ds), setup.train, lambdas)
    mu, sigma = ds.stats(nucleus)

    def evaluate(values: Mapping[str, float]) -> Mapping[str, float]:
        hypers = dataclasses.replace(base, **values)
        t0 = time.perf_counter()
        res = cross_validate(kind, setup, cache, hypers, nucleus, mu, sigma)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in res.items())
        log(f"  {nucleus} {kind} {dict(values)} -> {shown} ({time.perf_counter() - t0:.0f} s)")
        return res

    return box_behnken_search(HPO_FACTORS, evaluate)


@dataclass
class NucleusResult:
    """Predictions and bookkeeping of one model for one nucleus."""

    test_ids: NDArray[np.int64]
    prediction: dict[str, NDArray[np.float64]]
    hypers: dict[str, Any]
    n_train: int
    train_s: float
    predict_s: float
    cv: list[dict[str, Any]] = field(default_factory=list)


def fit_predict_tensor(
    frames: Sequence[Any], train: NucleusData, test: NucleusData, hypers: Hypers
) -> tuple[NDArray[np.float64], float, float, TensorSoapModel, Descriptors]:
    """Fit λ-SOAP on ``train``, predict ``test``.

    Returns
    -------
    (efg, train s, predict s, model, descriptors of the training sites)
    """
    t0 = time.perf_counter()
    model = TensorSoapModel(hypers)
    desc = model.descriptors(frames, train.centres)
    model.fit_descriptors(desc, train.efg)
    t1 = time.perf_counter()
    pred = model.predict(frames, test.centres)
    return pred, t1 - t0, time.perf_counter() - t1, model, desc


@dataclass
class ScalarFit:
    """What a scalar fit leaves for the CV spread and the entry.

    Attributes
    ----------
    groups : dict
        Hypers -> the targets fitted with them (one sparse GPR each).
    descriptors : dict
        Hypers -> λ = 0 descriptors of the training sites.
    n_parameters : int
        Fitted weights of all the GPRs (active environments × targets).
    """

    groups: dict[Hypers, list[str]]
    descriptors: dict[Hypers, Descriptors]
    n_parameters: int


def fit_predict_scalar(
    frames: Sequence[Any],
    train: NucleusData,
    test: NucleusData,
    hypers_per_target: Mapping[str, Hypers],
) -> tuple[dict[str, NDArray[np.float64]], float, float, ScalarFit]:
    """Fit one scalar model per distinct hyperparameter set; predict every target for ``test``."""
    groups: dict[Hypers, list[str]] = {}
    for target, h in hypers_per_target.items():
        groups.setdefault(h, []).append(target)
    pred: dict[str, NDArray[np.float64]] = {}
    fit = ScalarFit(groups, {}, 0)
    train_s = predict_s = 0.0
    for h, targets in groups.items():
        t0 = time.perf_counter()
        desc_tr = compute_descriptors(frames, train.centres, h.soap(), lambdas=(0,))
        model = ScalarSoapModel(h).fit_descriptors(desc_tr, {k: train.targets[k] for k in targets})
        t1 = time.perf_counter()
        desc_te = compute_descriptors(frames, test.centres, h.soap(), lambdas=(0,))
        pred.update(model.predict_descriptors(desc_te))
        predict_s += time.perf_counter() - t1
        train_s += t1 - t0
        fit.descriptors[h] = desc_tr
        fit.n_parameters += CVS.weights_count(model)
    return _clip_angles(pred), train_s, predict_s, fit


def machine_description() -> str:
    """CPU model, core count and memory of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}"


def code_version() -> str:
    """ltoefg version and the git commit of the checkout (if any)."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        sha = "unknown"
    return f"ltoefg {ltoefg.__version__}, git {sha}"


def model_name(base: str, tag: str) -> str:
    """Model name with its run tag, e.g. ``"λ-SOAP SA-GPR (quick)"``."""
    return f"{base} ({tag})" if tag else base


def run(
    model: str,
    opts: RunOptions,
    out_dir: Path,
    root: Path | None = None,
    log: Callable[[str], None] = print,
    written: list[Path] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train, predict, evaluate one baseline on every nucleus; write predictions and an entry.

    Parameters
    ----------
    model : str
        A key of :data:`MODELS`: ``"tensor"`` (λ-SOAP SA-GPR), ``"scalar"``
        (scalar SOAP GPR), ``"ridge"`` (pair-feature ridge), ``"lode"`` (λ-SOAP + LODE)
        or ``"delta"`` (Δ-learning on a point-charge prior); the last two in
        :mod:`baselines.runs.beyond`.
    opts : RunOptions
    out_dir : pathlib.Path
        Where ``predictions-<kind>.h5``, the JSON report, the CV tables and models go.
    root : pathlib.Path, optional
        Checkout root whose ``leaderboard/entries`` receives the entry (None: don't write one).
    log : callable
        Progress messages.
    written : list, optional
        Every file this run writes is appended (predictions, report, models, entry).

    Returns
    -------
    (report, entry) : tuple of dict
    """
    spec = MODELS[model]
    kind = spec.kind
    ds = ltoefg.load(opts.dataset)
    frames = _frames(ds)
    name = model_name(spec.name, opts.tag)
    out_dir.mkdir(parents=True, exist_ok=True)
    submission: dict[str, Any] = {
        C.ATTR_DATASET: ds.name,
        C.ATTR_SPLIT: opts.split,
        C.ATTR_MODEL: name,
        C.ATTR_KIND: kind,
    }
    written = [] if written is None else written
    hyper_record: dict[str, Any] = {}
    n_train: dict[str, int] = {}
    n_parameters: dict[str, int] = {}
    fold_runs: dict[str, list[dict[str, float | None]]] = {}
    cv_sites: dict[str, int] = {}
    active_cv: int | None = None
    train_s = predict_s = 0.0
    for k, nucleus in enumerate(opts.nuclei):
        sp = ds.split(opts.split, nucleus)
        train = nucleus_data(ds, subsample(sp.train, opts.n_train, salt=10 + k), nucleus)
        test = nucleus_data(ds, sp.test, nucleus)
        mu, sigma = ds.stats(nucleus)
        record: dict[str, Any] = {}
        if model == "ridge":
            pred, t_fit, t_pred, record, fold_runs[nucleus] = fit_predict_ridge(
                ds, opts.split, nucleus, train, test, frames
            )
            submission[nucleus] = {C.PRED_SITE_ID: test.ids, C.PRED_EFG: pred}
            hyper_record[nucleus] = record
            n_train[nucleus] = int(train.ids.size)
            n_parameters[nucleus] = int(record["n_parameters"])
            cv_sites[nucleus] = int(train.ids.size)
            train_s += t_fit
            predict_s += t_pred
            continue
        if model in ("lode", "delta"):
            from baselines.runs import beyond

            fit = beyond.run_nucleus(model, ds, opts, nucleus, train, test, out_dir, log)
            written.append(fit.model_path)
            submission[nucleus] = {C.PRED_SITE_ID: test.ids, C.PRED_EFG: fit.efg}
            hyper_record[nucleus], n_train[nucleus] = fit.record, int(train.ids.size)
            n_parameters[nucleus], fold_runs[nucleus] = fit.n_parameters, fit.folds
            cv_sites[nucleus] = fit.cv_sites
            active_cv = fit.n_active_cv if fit.n_active_cv is not None else active_cv
            train_s += fit.train_s
            predict_s += fit.predict_s
            continue
        if opts.hpo:
            log(f"{name}: tuning {nucleus} (Box-Behnken, 5-fold CV on {opts.n_cv} sites)")
            base_cv = dataclasses.replace(opts.hypers, n_active=opts.n_active_cv)
            search = tune(kind, ds, opts.split, nucleus, base_cv, opts.n_cv, log)
            record["cv_table"] = search.table
            record["cv_training_sites"] = opts.n_cv
            record["cv_n_active"] = opts.n_active_cv
            best = search.best
        elif opts.fixed is not None:
            source = opts.fixed[nucleus]
            best = _best_from_record(kind, source)
            record["hypers_from"] = opts.fixed_source or "earlier entry (see notes)"
            for key in ("cv_table", "cv_training_sites", "cv_n_active"):
                if key in source:  # the search that chose them, kept with them
                    record[key] = source[key]
        else:
            best = {}
        log(f"{name}: fitting {nucleus} on {train.ids.size} sites, predicting {test.ids.size}")
        rows, n_active_cv = _cv_sites(ds, opts, nucleus, train)
        active_cv = n_active_cv if n_active_cv is not None else active_cv
        folds = CVS.restrict_folds(sp.folds, train.ids[rows])
        cv_sites[nucleus] = int(rows.size)
        if kind == C.KIND_TENSOR:
            h = dataclasses.replace(opts.hypers, **best.get("score", {}))
            pred, t_fit, t_pred, fitted, desc = fit_predict_tensor(frames, train, test, h)
            fitted.training_data = {
                "dataset": ds.name,
                "label_method": ds.label_method,
                "split": opts.split,
                "nucleus": nucleus,
                "n_train": int(train.ids.size),
            }
            written.append(out_dir / f"model-tensor-{nucleus}.npz")
            fitted.save(written[-1])
            values: dict[str, Any] = {C.PRED_EFG: pred}
            record["hypers"] = h.to_dict()
            n_parameters[nucleus] = CVS.weights_count(fitted)
            t0 = time.perf_counter()
            h_cv = h if n_active_cv is None else dataclasses.replace(h, n_active=n_active_cv)
            fold_runs[nucleus] = CVS.tensor_folds(
                desc.subset(rows), train.efg[rows], folds, h_cv, nucleus, mu, sigma
            )
        else:
            per_target = {
                t: dataclasses.replace(opts.hypers, **best.get(t, {})) for t in SCALAR_TARGETS
            }
            values, t_fit, t_pred, fit = fit_predict_scalar(frames, train, test, per_target)
            record["hypers"] = {t: h.to_dict() for t, h in per_target.items()}
            n_parameters[nucleus] = fit.n_parameters
            t0 = time.perf_counter()
            cv_hypers = {
                h: h if n_active_cv is None else dataclasses.replace(h, n_active=n_active_cv)
                for h in fit.groups
            }
            fold_runs[nucleus] = CVS.scalar_folds(
                {cv_hypers[h]: d.subset(rows) for h, d in fit.descriptors.items()},
                {cv_hypers[h]: targets for h, targets in fit.groups.items()},
                {t: v[rows] for t, v in train.targets.items()},
                folds,
            )
        record["cv_folds_wall_time_s"] = round(time.perf_counter() - t0, 1)
        log(
            f"{name}: {C.N_FOLDS}-fold CV spread of {nucleus} on {rows.size} sites "
            f"({_fold_text(fold_runs[nucleus])})"
        )
        submission[nucleus] = {C.PRED_SITE_ID: test.ids, **values}
        hyper_record[nucleus] = record
        n_train[nucleus] = int(train.ids.size)
        train_s += t_fit
        predict_s += t_pred
    pred_path = S.write(out_dir / f"predictions-{model}.h5", submission)
    written.append(pred_path)
    report = ltoefg.evaluate(pred_path, dataset=ds)
    written.append(out_dir / f"report-{model}.json")
    written[-1].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    dft = ds.label_method.startswith(C.LABEL_METHOD_DFT_PREFIX)
    notes = f"{ds.name} labels are {ds.label_method}{' (DFT)' if dft else ', not DFT'}. " + (
        "Ridge strength by 5-fold CV on the frozen folds; 36 fitted coefficients per nucleus."
        if model == "ridge"
        else "Tuned by Box-Behnken + 5-fold CV on the frozen folds."
        if opts.hpo
        else f"Hyperparameters tuned earlier by Box-Behnken + 5-fold CV ({opts.fixed_source}; "
        "its search table is kept in the hyperparameters)."
        if opts.fixed is not None
        else "Fixed hyperparameters."
    )
    if kind == C.KIND_OBSERVABLES:
        derived = _derived_omega(submission, ds)
        notes += (
            " ωQ derived from the scalar C̃Q, η̃, θ, φ models (paper Fig. 4b): "
            + "; ".join(
                f"{n} MAE {d[C.R_MAE_OMEGA_Q_KHZ]:.1f} kHz "
                f"({100 * d[C.R_FRAC_OMEGA_Q_WITHIN]:.0f} % ≤ 10 kHz)"
                for n, d in derived.items()
            )
            + "; the report's ωQ is the direct scalar model (Fig. 4a)."
        )
    if model in ("lode", "delta"):
        from baselines.runs import beyond

        notes += beyond.entry_notes(model, hyper_record)
    n_runs, runs = LF.make_runs(
        fold_runs, over=C.RUNS_OVER_FOLDS, protocol=_protocol(model, opts, cv_sites, active_cv)
    )
    entry = leaderboard.make_entry(
        report,
        code_version=code_version(),
        hyperparameters=hyper_record,
        n_train=n_train,
        train_wall_time_s=round(train_s, 1),
        predict_wall_time_s=round(predict_s, 1),
        machine=machine_description(),
        notes=notes,
        code_url=CODE_PATHS[model],
        description=DESCRIPTIONS[model],
        n_parameters=n_parameters,
        runs=runs,
        n_runs=n_runs,
    )
    if root is not None:
        path = leaderboard.write_entry(root, entry)
        written.append(path)
        log(f"wrote {path}")
    return report, entry


def _fold_text(runs: Sequence[Mapping[str, float | None]]) -> str:
    """E.g. "score 0.101 ± 0.004, MAE C̃Q 0.17 ± 0.01" for a progress line."""
    stats = LF.spread(runs)
    parts = []
    for key, label in ((C.R_SCORE, "score"), (C.R_MAE_CQ_TILDE, "MAE C̃Q")):
        m, sd = stats[C.RUNS_MEAN][key], stats[C.RUNS_STD][key]
        if m is not None:
            parts.append(f"{label} {m:.3g} ± {sd:.2g}")
    return ", ".join(parts)


def _protocol(
    model: str, opts: RunOptions, cv_sites: Mapping[str, int], n_active_cv: int | None
) -> str:
    """One sentence: how the CV spread of an entry was made."""
    sites = ", ".join(f"{n} {v}" for n, v in cv_sites.items())
    if model == "ridge":
        how = "at the α chosen by that CV, on all training sites"
    elif n_active_cv is None:
        how = "at the final hyperparameters, on all training sites of the run"
    else:
        where = (
            "the search's seeded CV subset"
            if opts.n_cv is not None and max(cv_sites.values()) >= opts.n_cv
            else "all training sites of the run"
        )
        how = (
            f"at the final hyperparameters with {n_active_cv} active environments (the "
            f"search's CV setting), on {where}"
        )
    return (
        f"{C.N_FOLDS}-fold CV on the frozen folds of the {opts.split} split, {how} "
        f"({sites}); per fold: score and MAE C̃Q, η̃, ωQ of the validation sites."
    )


def fit_predict_ridge(
    ds: ltoefg.Dataset,
    split: str,
    nucleus: str,
    train: NucleusData,
    test: NucleusData,
    frames: Sequence[Any],
) -> tuple[NDArray[np.float64], float, float, dict[str, Any], list[dict[str, float | None]]]:
    """Pair-feature ridge: α by 5-fold CV on the frozen folds, fit on ``train``, predict ``test``.

    Returns
    -------
    (efg, train s, predict s, record, folds) : the record holds α, the CV table and
    the fixed feature settings; ``folds`` the per-fold metrics at the chosen α
    (:data:`baselines.runs.cv_spread.RUN_KEYS`).
    """
    from baselines.models import pair_ridge as R

    mu, sigma = ds.stats(nucleus)
    t0 = time.perf_counter()
    features = R.pair_features(frames, train.centres)
    folds = CVS.restrict_folds(ds.split(split, nucleus).folds, train.ids)
    table = []
    per_fold: dict[float, list[dict[str, float | None]]] = {}
    for alpha in R.ALPHAS:
        per_fold[alpha] = []
        for tr_rows, va_rows in folds:
            m = R.PairRidgeModel(alpha=alpha).fit_features(features[tr_rows], train.efg[tr_rows])
            pred = m.predict_features(features[va_rows])
            per_fold[alpha].append(
                CVS.tensor_fold_metrics(train.efg[va_rows], pred, nucleus, mu, sigma)
            )
        scores = [f[C.R_SCORE] for f in per_fold[alpha]]
        table.append(
            {"alpha": alpha, "score": float(np.mean(scores)), "std": float(np.std(scores))}
        )
    best = min(table, key=lambda row: row["score"])
    model = R.PairRidgeModel(alpha=best["alpha"]).fit_features(features, train.efg)
    t1 = time.perf_counter()
    pred = model.predict(frames, test.centres)
    record = {
        "hypers": {
            "alpha": best["alpha"],
            "cutoff": R.CUTOFF,
            "n_bins": R.N_BINS,
            "r_min": R.R_MIN,
            "cutoff_width": R.CUTOFF_WIDTH,
            "species": list(R.SPECIES),
        },
        "n_parameters": model.n_parameters,
        "coefficients": [float(c) for c in model.coef],
        "cv_table": table,
    }
    return pred, t1 - t0, time.perf_counter() - t1, record, per_fold[best["alpha"]]


def _best_from_record(kind: str, record: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Tuned factor values from an entry's per-nucleus hyperparameter record."""
    names = [f.name for f in HPO_FACTORS]
    hypers = record["hypers"]
    if kind == C.KIND_TENSOR:
        return {"score": {k: hypers[k] for k in names}}
    return {t: {k: h[k] for k in names} for t, h in hypers.items()}


def _derived_omega(submission: dict[str, Any], ds: ltoefg.Dataset) -> dict[str, dict[str, float]]:
    """ωQ derived from the scalar C̃Q, η̃, θ, φ predictions (paper Fig. 4b), per nucleus."""
    out = {}
    for nucleus in C.NUCLEI:
        if nucleus not in submission:
            continue
        g = submission[nucleus]
        mu, sigma = ds.stats(nucleus)
        ref = nmr.observable_arrays(ds.efg[g[C.PRED_SITE_ID]], nucleus, mu, sigma)[
            C.OBS_OMEGA_Q_KHZ
        ]
        derived = metrics.omega_q_from_metrics(
            g[C.OBS_CQ_TILDE], g[C.OBS_ETA_TILDE], g[C.OBS_THETA], g[C.OBS_PHI], nucleus, mu, sigma
        )
        err = np.abs(derived - ref)
        out[nucleus] = {
            C.R_MAE_OMEGA_Q_KHZ: float(err.mean()),
            C.R_FRAC_OMEGA_Q_WITHIN: float(np.mean(err <= C.OMEGA_Q_THRESHOLD_KHZ)),
        }
    return out
