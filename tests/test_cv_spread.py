"""The baselines' CV spread at the final hyperparameters, parameter counts and code (issue 12)."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

pytest.importorskip("featomic", reason="featomic (extra 'baselines') is not installed")
pytest.importorskip("matscipy", reason="matscipy (extra 'baselines') is not installed")

from test_evaluate import build_dataset_file  # noqa: E402

from baselines.runs import cv_spread as CVS  # noqa: E402
from baselines.runs import pipeline as P  # noqa: E402
from ltoefg import constants as C  # noqa: E402


def test_restrict_folds_gives_positions_into_the_subset() -> None:
    folds = [(np.array([1, 2, 3, 9]), np.array([4, 5])), (np.array([4, 5, 9]), np.array([1, 2, 3]))]
    ids = np.array([2, 4, 5, 9])
    out = CVS.restrict_folds(folds, ids)
    assert [tr.tolist() for tr, _ in out] == [[0, 3], [1, 2, 3]]
    assert [va.tolist() for _, va in out] == [[1, 2], [0]]


def test_cv_rows_all_tuning_subset_or_fallback() -> None:
    train = np.arange(10, 30)
    never = lambda ids, n, salt: pytest.fail("no fallback expected")  # noqa: E731
    assert CVS.cv_rows(train, None, None, never, 0).tolist() == list(range(20))
    assert CVS.cv_rows(train, None, 20, never, 0).tolist() == list(range(20))
    assert CVS.cv_rows(train, np.array([12, 15, 29]), 3, never, 0).tolist() == [2, 5, 19]
    # the search's subset is not inside this run's training sites: a subset of them instead
    rows = CVS.cv_rows(train, np.array([5, 15, 29]), 3, P.subsample, 1)
    assert rows.tolist() == np.searchsorted(train, P.subsample(train, 3, 1)).tolist()
    assert rows.size == 3 and len(set(rows.tolist())) == 3


def test_observable_fold_metrics_known_answer() -> None:
    ref = {C.OBS_CQ_TILDE: np.zeros(4), C.OBS_ETA_TILDE: np.ones(4), C.OBS_OMEGA_Q_KHZ: np.zeros(4)}
    pred = {
        C.OBS_CQ_TILDE: np.array([1.0, -1.0, 0.5, -0.5]),
        C.OBS_ETA_TILDE: np.array([1.0, 1.0, 1.0, 3.0]),
        C.OBS_OMEGA_Q_KHZ: np.array([10.0, -30.0, 0.0, 0.0]),
        C.OBS_PHI: np.zeros(4),
    }
    out = CVS.observable_fold_metrics(ref, pred)
    assert out == {
        C.R_SCORE: None,
        C.R_MAE_CQ_TILDE: 0.75,
        C.R_MAE_ETA_TILDE: 0.5,
        C.R_MAE_OMEGA_Q_KHZ: 10.0,
    }


@pytest.fixture(scope="module")
def ds_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset_file(tmp_path_factory.mktemp("cvds") / "synthetic.h5", n_structures=30)


def _check_runs(entry: dict, nuclei: tuple[str, ...]) -> None:
    assert entry[C.LB_N_RUNS] == C.N_FOLDS
    runs = entry[C.LB_RUNS]
    assert runs[C.RUNS_OVER] == "folds" and "5-fold CV on the frozen folds" in runs["protocol"]
    for nucleus in nuclei:
        stats = runs[C.RUNS_NUCLEI][nucleus]
        per_run = stats[C.RUNS_PER_RUN]
        assert len(per_run) == 5 and set(per_run[0]) == set(C.RUN_HEADLINE_KEYS)
        for key in (C.R_MAE_CQ_TILDE, C.R_MAE_OMEGA_Q_KHZ):
            values = [r[key] for r in per_run]
            assert stats[C.RUNS_MEAN][key] == pytest.approx(np.mean(values))
            assert stats[C.RUNS_STD][key] == pytest.approx(np.std(values))
            assert len(set(values)) == 5  # five different folds, not one number repeated


def test_ridge_entry_records_the_chosen_alphas_spread(tmp_path: Path, ds_path: Path) -> None:
    opts = P.RunOptions(dataset=str(ds_path), nuclei=("Li", "O"), tag="test")
    written: list[Path] = []
    report, entry = P.run("ridge", opts, tmp_path, written=written, log=lambda _: None)
    assert entry[C.LB_CODE_URL] == "baselines/models/pair_ridge.py"
    assert entry[C.LB_N_PARAMETERS] == {"Li": 36, "O": 36}
    assert "36 exactly equivariant pair features" in entry[C.LB_DESCRIPTION]
    _check_runs(entry, ("Li", "O"))
    for nucleus in ("Li", "O"):
        record = entry[C.LB_HYPERPARAMETERS][nucleus]
        chosen = next(r for r in record["cv_table"] if r["alpha"] == record["hypers"]["alpha"])
        stats = entry[C.LB_RUNS][C.RUNS_NUCLEI][nucleus]
        # the spread is exactly the chosen α's row of the CV table
        assert stats[C.RUNS_MEAN][C.R_SCORE] == pytest.approx(chosen["score"], rel=1e-12)
        assert stats[C.RUNS_STD][C.R_SCORE] == pytest.approx(chosen["std"], rel=1e-12)
        assert chosen["score"] == min(r["score"] for r in record["cv_table"])
    assert [p.name for p in written] == ["predictions-ridge.h5", "report-ridge.json"]


def test_tensor_and_scalar_entries_count_weights_and_refit_each_fold(
    tmp_path: Path, ds_path: Path
) -> None:
    hypers = dataclasses.replace(P.QUICK_HYPERS, n_active=40, cutoff=4.0, n_max=3, l_max=2)
    opts = P.RunOptions(dataset=str(ds_path), nuclei=("Li",), n_train=120, hypers=hypers)
    written: list[Path] = []
    _, tensor = P.run("tensor", opts, tmp_path, written=written, log=lambda _: None)
    assert tensor[C.LB_N_PARAMETERS] == {"Li": 5 * 40}  # active environments × 5 components
    assert tensor[C.LB_CODE_URL] == "baselines/models/soap.py"
    _check_runs(tensor, ("Li",))
    scores = [r[C.R_SCORE] for r in tensor[C.LB_RUNS][C.RUNS_NUCLEI]["Li"][C.RUNS_PER_RUN]]
    assert all(s is not None and 0 < s < 10 for s in scores)
    protocol = tensor[C.LB_RUNS]["protocol"]
    assert "with 500 active environments (the search's CV setting)" in protocol
    assert "on all training sites of the run (Li 120)" in protocol
    _, scalar = P.run("scalar", opts, tmp_path, written=written, log=lambda _: None)
    # one GPR for the 5 targets (shared hyperparameters): 40 active × 5 targets
    assert scalar[C.LB_N_PARAMETERS] == {"Li": 40 * 5}
    _check_runs(scalar, ("Li",))
    li = scalar[C.LB_RUNS][C.RUNS_NUCLEI]["Li"]
    assert li[C.RUNS_MEAN][C.R_SCORE] is None  # no ξ: no score, never 0
    names = [p.name for p in written]
    assert names[:3] == ["model-tensor-Li.npz", "predictions-tensor.h5", "report-tensor.json"]
    assert all(p.is_file() for p in written)


def test_larger_runs_use_the_search_subset(tmp_path: Path, ds_path: Path) -> None:
    """With more training sites than n_cv, the spread uses the search's subset and n_active_cv."""
    hypers = dataclasses.replace(P.QUICK_HYPERS, n_active=60, cutoff=4.0, n_max=3, l_max=2)
    opts = P.RunOptions(
        dataset=str(ds_path), nuclei=("Li",), hypers=hypers, n_cv=100, n_active_cv=30
    )
    _, entry = P.run("tensor", opts, tmp_path, log=lambda _: None)
    assert entry[C.LB_N_TRAIN]["Li"] > 100
    protocol = entry[C.LB_RUNS]["protocol"]
    assert "with 30 active environments (the search's CV setting)" in protocol
    assert "on the search's seeded CV subset (Li 100)" in protocol
    assert not math.isnan(entry[C.LB_RUNS][C.RUNS_NUCLEI]["Li"][C.RUNS_MEAN][C.R_SCORE])
