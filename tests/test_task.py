"""The task API (SPEC §5 v2): data, folds and scoring through the evaluator."""

from __future__ import annotations

import numpy as np
import pytest

import ltoefg
from ltoefg import metrics
from ltoefg.errors import LtoefgError, SubmissionError
from ltoefg.task import ARRAY_TARGET, Task, TaskError


@pytest.fixture(scope="module")
def ds() -> ltoefg.Dataset:
    return ltoefg.load("pcm-v2")


@pytest.fixture(scope="module")
def task(ds: ltoefg.Dataset) -> Task:
    return Task(ds, "random", "Li", model_name="test model")


def test_task_is_exported_and_names_its_parts(ds: ltoefg.Dataset) -> None:
    task = ltoefg.Task("pcm-v2", "structure", "Ti")
    assert task.dataset.name == "pcm-v2"
    split = ds.split("structure", "Ti")
    np.testing.assert_array_equal(task.train_ids, split.train)
    np.testing.assert_array_equal(task.test_ids, split.test)
    assert "pcm-v2" in repr(task) and "Ti" in repr(task)


def test_folds_partition_the_training_ids(task: Task) -> None:
    assert len(task.folds) == 5
    validation = np.concatenate([f.validation_ids for f in task.folds])
    assert validation.size == task.train_ids.size  # no id twice
    np.testing.assert_array_equal(np.sort(validation), task.train_ids)
    for fold in task:
        assert np.intersect1d(fold.train_ids, fold.validation_ids).size == 0
        np.testing.assert_array_equal(
            np.union1d(fold.train_ids, fold.validation_ids), task.train_ids
        )
    assert np.intersect1d(task.train_ids, task.test_ids).size == 0


def test_structures_and_site_ids_join(task: Task, ds: ltoefg.Dataset) -> None:
    data = task.folds[1].validation
    assert len(data) == task.folds[1].validation_ids.size
    np.testing.assert_array_equal(data.site_id, task.folds[1].validation_ids)
    np.testing.assert_array_equal(data.efg, ds.efg[data.site_id])
    joined = np.concatenate([a.arrays["efg"][a.arrays[ARRAY_TARGET]] for a in data.structures])
    np.testing.assert_array_equal(joined, ds.efg[data.site_id])
    ids = np.concatenate([a.arrays["site_id"][a.arrays[ARRAY_TARGET]] for a in data.structures])
    np.testing.assert_array_equal(ids, data.site_id)
    for k in (0, 17, len(data) - 1):
        atoms = data.structures[data.centres[k, 0]]
        assert atoms.arrays["site_id"][data.centres[k, 1]] == data.site_id[k]
        assert atoms.get_chemical_symbols()[data.centres[k, 1]] == "Li"
        assert data.wyckoff[k] == atoms.arrays["wyckoff"][data.centres[k, 1]]
    structures = [a.info["structure"] for a in data.structures]
    assert structures == sorted(set(ds.site_structure[data.site_id].tolist()))


def test_test_labels_are_hidden_unless_asked(task: Task, ds: ltoefg.Dataset) -> None:
    test = task.test_data()
    assert test.efg is None
    np.testing.assert_array_equal(test.site_id, task.test_ids)
    for atoms in test.structures[:20]:
        target = atoms.arrays[ARRAY_TARGET]
        assert target.any() and np.isnan(atoms.arrays["efg"][target]).all()
        others = ~np.isin(atoms.arrays["site_id"], task.test_ids)
        np.testing.assert_array_equal(
            atoms.arrays["efg"][others], ds.efg[atoms.arrays["site_id"][others]]
        )
    # training structures of the random split hold test Li sites: hidden there too
    train = task.folds[0].train
    hidden = 0
    for atoms in train.structures:
        is_test = np.isin(atoms.arrays["site_id"], task.test_ids)
        assert np.isnan(atoms.arrays["efg"][is_test]).all()
        assert not np.isnan(atoms.arrays["efg"][~is_test]).any()
        hidden += int(is_test.sum())
    assert hidden > 0
    full = task.test_data(include_target=True)
    np.testing.assert_array_equal(full.efg, ds.efg[task.test_ids])


def test_reference_predictions_score_zero(ds: ltoefg.Dataset) -> None:
    task = Task(ds, "random", "Li", model_name="the reference itself")
    fold = task.folds[2]
    report = task.record(fold, fold.validation.efg)
    li = report["nuclei"]["Li"]
    assert li["n"] == fold.validation_ids.size
    assert li["mae_cq_tilde"] == 0.0 and li["mae_eta_tilde"] == 0.0
    assert li["mean_xi"] == pytest.approx(1.0, abs=1e-12)
    assert task.score(fold) == pytest.approx(0.0, abs=1e-12)
    report = task.record("test", task.test_data(include_target=True).efg)
    assert report["model"] == "the reference itself" and report["split"] == "random"
    assert report["nuclei"]["Li"]["n"] == task.test_ids.size
    assert report["nuclei"]["Li"]["mean_xi"] == pytest.approx(1.0, abs=1e-12)
    assert task.score() == pytest.approx(0.0, abs=1e-12)
    summary = task.summary()
    assert summary["fold_scores"].keys() == {2} and summary["cv_mean"] is None
    assert summary["test_score"] == pytest.approx(0.0, abs=1e-12)


def test_constant_prediction_scores_what_metrics_report_says(ds: ltoefg.Dataset) -> None:
    task = Task(ds, "structure", "O", model_name="constant")
    mu, sigma = ds.stats("O")
    constant = np.diag([-1.0, -2.0, 3.0])
    expected_scores = []
    for fold in task.folds:
        pred = np.broadcast_to(constant, (fold.validation_ids.size, 3, 3))
        got = task.record(fold, pred)["nuclei"]["O"]
        want = metrics.report(ds.efg[fold.validation_ids], pred, "O", mu=mu, sigma=sigma)
        assert got == want
        assert got["score"] > 0.1  # a constant is a bad model: the test can fail
        expected_scores.append(want["score"])
    mean, std = task.cv_score()
    assert mean == pytest.approx(np.mean(expected_scores), rel=1e-12)
    assert std == pytest.approx(np.std(expected_scores), rel=1e-12)
    pred = np.broadcast_to(constant, (task.test_ids.size, 3, 3))
    got = task.record("test", pred)
    want = metrics.report(ds.efg[task.test_ids], pred, "O", mu=mu, sigma=sigma)
    assert got["nuclei"]["O"] == want and got["score"] == want["score"]


def test_written_predictions_score_the_same_from_the_file(ds: ltoefg.Dataset, tmp_path) -> None:
    task = Task(ds, "random", "Ti", model_name="noisy reference")
    rng = np.random.default_rng(3)
    test = task.test_data(include_target=True)
    pred = test.efg + rng.normal(scale=0.05, size=test.efg.shape)
    recorded = task.record("test", pred)
    path = task.write_predictions(tmp_path / "predictions.h5")
    from_file = ltoefg.evaluate(path)
    assert from_file["model"] == "noisy reference" and from_file["kind"] == "tensor"
    assert from_file["score"] == pytest.approx(recorded["score"], rel=1e-12)
    assert from_file["nuclei"]["Ti"] == recorded["nuclei"]["Ti"]


def test_bad_use_is_refused_in_one_sentence(task: Task) -> None:
    with pytest.raises(TaskError, match="shape"):
        task.record(0, np.zeros((3, 3, 3)))
    with pytest.raises(TaskError, match="fold index 0 … 4"):
        task.record(5, np.zeros((1, 3, 3)))
    with pytest.raises(TaskError, match="fold index"):
        task.record("validation", np.zeros((1, 3, 3)))
    with pytest.raises(TaskError, match="nothing recorded for fold 4"):
        task.score(4)
    with pytest.raises(TaskError, match="have not been recorded"):
        task.cv_score()
    with pytest.raises(TaskError, match="unknown split"):
        Task(task.dataset, "leave-one-out", "Li")
    with pytest.raises(TaskError, match="unknown nucleus"):
        Task(task.dataset, "random", "Na")
    with pytest.raises(TaskError, match="Li sites"):
        task.data([0, 1, 2, 30])  # 30 is not Li
    with pytest.raises(TaskError, match="no test predictions"):
        Task(task.dataset, "random", "Li").write_predictions("never.h5")
    fold = task.folds[3]
    nan = fold.validation.efg.copy()
    nan[5] = np.nan
    with pytest.raises(SubmissionError, match="NaN"):  # the evaluator's own refusal
        task.record(fold, nan)
    assert issubclass(TaskError, LtoefgError)


def test_task_and_cite_import_no_heavy_packages() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ltoefg, ltoefg.task, ltoefg.cite, ltoefg.cli.cite\n"
        "task = ltoefg.Task('pcm-v2', 'random', 'Li')\n"
        "heavy = ('featomic', 'matplotlib', 'chemiscope', 'dask', 'metatensor')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith(heavy)}))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
