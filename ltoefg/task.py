"""Benchmark tasks (SPEC §5 v2): ``ltoefg.Task("pcm-v2", "random", "Li")``.

A task names a data-set version, a frozen split and a nucleus, and hands a model
everything it needs without joining ids by hand:

* :meth:`Task.train_data`, :meth:`Task.test_data` and the 5 CV folds
  (:attr:`Task.folds`, each with ``train`` and ``validation`` data) as
  :class:`TaskData`: the structures (``ase.Atoms`` from
  :meth:`ltoefg.Dataset.atoms`) that hold the target sites, with per-atom arrays
  ``site_id``, ``efg`` (V/Å²), ``wyckoff`` and the boolean ``target`` mask, plus
  the target site ids and their reference tensors as flat arrays;
* :meth:`Task.record` scores predictions of a fold or of the test set through
  the evaluator of ``ltoefg evaluate`` (:func:`ltoefg.evaluate`), and
  :meth:`Task.score` / :meth:`Task.cv_score` read the scores back;
* :meth:`Task.write_predictions` writes the test predictions as a
  ``predictions.h5`` submission file.

Honest path
-----------
The labels of this benchmark are public, so nothing can stop a determined
cheat; the task makes the honest path the easy one. Everywhere (training,
validation and test data) the per-atom ``efg`` array is NaN on the task's test
sites, so a model that reads labels from the structures never sees a test
label. :meth:`Task.test_data` returns no reference tensors unless asked with
``include_target=True`` (for analysis after scoring).

Order
-----
The target sites of a :class:`TaskData` are in ascending ``site_id`` order,
which is the order of the structures (ascending data-set index) and of the
atoms within each structure, so that
``np.concatenate([a.arrays["efg"][a.arrays["target"]] for a in data.structures])``
equals ``data.efg``. Predictions are given in that same order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike, NDArray

from ltoefg import constants as C
from ltoefg.data import Dataset, Split, load
from ltoefg.errors import LtoefgError

__all__ = ["ARRAY_TARGET", "TEST", "Fold", "Task", "TaskData"]

#: Name of the boolean per-atom array that marks a task's target sites.
ARRAY_TARGET = "target"
#: The key of the test set in :meth:`Task.record` and :meth:`Task.score`.
TEST = "test"
#: Model name of a task whose maker gave none.
DEFAULT_MODEL_NAME = "unnamed model"


class TaskError(LtoefgError):
    """A task was asked for something it does not have (one sentence, CLI exit status 2)."""


@dataclass(frozen=True)
class TaskData:
    """The target sites of one part of a task (training, validation or test data).

    Attributes
    ----------
    structures : list of ase.Atoms
        Every structure that holds at least one target site, in ascending
        data-set index (``atoms.info["structure"]``), with per-atom arrays
        ``site_id`` (int64), ``efg`` ((N, 3, 3), V/Å²; NaN on the task's test
        sites unless the test labels were asked for), ``wyckoff`` (str) and
        ``target`` (bool: the sites to predict).
    site_id : numpy.ndarray of int64, shape (n,)
        The target site ids, ascending (the order of the ``target`` atoms).
    efg : numpy.ndarray of float64, shape (n, 3, 3), or None
        Reference tensors of the target sites, V/Å²; None for test data whose
        labels were not asked for.
    centres : numpy.ndarray of int64, shape (n, 2)
        (position in :attr:`structures`, atom index) of every target site.
    wyckoff : numpy.ndarray of str, shape (n,)
        Wyckoff label of every target site (``8a`` or ``16d`` for Li).
    """

    structures: list[Atoms]
    site_id: NDArray[np.int64]
    efg: NDArray[np.float64] | None
    centres: NDArray[np.int64]
    wyckoff: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.site_id.size)


class Fold:
    """One cross-validation fold of a task: training and validation data.

    Attributes
    ----------
    index : int
        0 … 4.
    train_ids, validation_ids : numpy.ndarray of int64
        Site ids (ascending); together they are the task's training ids.
    """

    def __init__(
        self,
        task: Task,
        index: int,
        train_ids: NDArray[np.int64],
        validation_ids: NDArray[np.int64],
    ) -> None:
        self._task = task
        self.index = index
        self.train_ids = train_ids
        self.validation_ids = validation_ids

    def __repr__(self) -> str:
        return (
            f"<ltoefg.task.Fold {self.index}: {self.train_ids.size} training and "
            f"{self.validation_ids.size} validation sites>"
        )

    @cached_property
    def train(self) -> TaskData:
        """Training data of this fold (labels included)."""
        return self._task.data(self.train_ids)

    @cached_property
    def validation(self) -> TaskData:
        """Validation data of this fold (labels included: it is training data)."""
        return self._task.data(self.validation_ids)


class _FoldView:
    """A data set seen by the evaluator with one fold's validation ids as the test ids.

    Everything else (name, tensors, |Vzz| statistics, label method) is the data
    set's own, so a fold is scored by exactly the code that scores a submission.
    """

    def __init__(self, dataset: Dataset, split: str, nucleus: str, fold: Fold) -> None:
        self._dataset = dataset
        self._split = split
        self._nucleus = nucleus
        self._fold = fold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    def split(self, kind: str, nucleus: str) -> Split:
        """The fold as a split of the task's nucleus (other nuclei: the data set's split)."""
        if kind == self._split and nucleus == self._nucleus:
            return Split(self._fold.train_ids, self._fold.validation_ids, [])
        return self._dataset.split(kind, nucleus)


class Task:
    """A benchmark task: (data-set version, split, nucleus).

    Parameters
    ----------
    dataset : str or ltoefg.Dataset
        A registered version name (default ``"pcm-v2"``) or an opened data set.
    split : str
        ``"random"`` (the paper's), ``"structure"`` or ``"ordering"``.
    nucleus : str
        ``"Li"``, ``"Ti"`` or ``"O"``.
    model_name : str
        The ``model`` text of every report and of the predictions file.

    Examples
    --------
    >>> task = ltoefg.Task("pcm-v2", "random", "Li", model_name="my model")
    >>> for fold in task.folds:
    ...     model = fit(fold.train)
    ...     task.record(fold, predict(model, fold.validation))
    >>> task.record("test", predict(fit(task.train_data()), task.test_data()))
    >>> task.score(), task.cv_score()
    """

    def __init__(
        self,
        dataset: str | Dataset = C.DEFAULT_DATASET,
        split: str = "random",
        nucleus: str = "Li",
        model_name: str = DEFAULT_MODEL_NAME,
    ) -> None:
        if split not in C.SPLITS:
            raise TaskError(f"unknown split {split!r}; choose one of {', '.join(C.SPLITS)}.")
        if nucleus not in C.NUCLEI:
            raise TaskError(f"unknown nucleus {nucleus!r}; choose one of {', '.join(C.NUCLEI)}.")
        self.dataset: Dataset = load(dataset) if isinstance(dataset, (str, Path)) else dataset
        self.split = split
        self.nucleus = nucleus
        self.model_name = model_name
        ids = self.dataset.split(split, nucleus)
        self.train_ids: NDArray[np.int64] = np.sort(np.asarray(ids.train, dtype=np.int64))
        self.test_ids: NDArray[np.int64] = np.sort(np.asarray(ids.test, dtype=np.int64))
        self.folds: tuple[Fold, ...] = tuple(
            Fold(
                self,
                k,
                np.sort(np.asarray(tr, dtype=np.int64)),
                np.sort(np.asarray(va, dtype=np.int64)),
            )
            for k, (tr, va) in enumerate(ids.folds)
        )
        #: Evaluator reports recorded so far: fold index or ``"test"`` -> report.
        self.reports: dict[int | str, dict[str, Any]] = {}
        self._predictions: dict[int | str, NDArray[np.float64]] = {}

    def __repr__(self) -> str:
        return (
            f"<ltoefg.Task {self.dataset.name!r} {self.split} {self.nucleus}: "
            f"{self.train_ids.size} training, {self.test_ids.size} test sites, "
            f"{len(self.folds)} folds>"
        )

    # ------------------------------------------------------------------ data
    def data(self, site_ids: ArrayLike, include_test_labels: bool = False) -> TaskData:
        """Structures and labels of any set of this nucleus's site ids.

        Parameters
        ----------
        site_ids : array_like of int
            Global site ids of the task's nucleus.
        include_test_labels : bool
            Keep the reference tensors of the task's test sites (default: NaN
            in the per-atom ``efg`` array).

        Returns
        -------
        TaskData
        """
        ids = np.unique(np.asarray(site_ids, dtype=np.int64))
        ds = self.dataset
        species = ds.species[ids] if ids.size else np.array([], dtype=str)
        if ids.size and (ids[0] < 0 or ids[-1] >= ds.n_sites or (species != self.nucleus).any()):
            raise TaskError(
                f"site ids must be {self.nucleus} sites of {ds.name} (0 … {ds.n_sites - 1}); "
                "pass ids from the task's train_ids, test_ids or folds."
            )
        hidden = np.zeros(ds.n_sites, dtype=bool)
        if not include_test_labels:
            hidden[self.test_ids] = True
        structure_of = ds.site_structure[ids]
        frames: list[Atoms] = []
        centres = np.empty((ids.size, 2), dtype=np.int64)
        for pos, i in enumerate(np.unique(structure_of)):
            atoms = ds.atoms(int(i))
            atoms.info["structure"] = int(i)
            sid = atoms.arrays["site_id"]
            target = np.isin(sid, ids, assume_unique=True)
            atoms.arrays["efg"][hidden[sid]] = np.nan
            atoms.new_array(ARRAY_TARGET, target)
            rows = np.flatnonzero(structure_of == i)
            centres[rows, 0] = pos
            centres[rows, 1] = np.flatnonzero(target)
            frames.append(atoms)
        efg = ds.efg[ids].copy()
        return TaskData(
            structures=frames,
            site_id=ids,
            efg=None if hidden[ids].any() else efg,
            centres=centres,
            wyckoff=np.asarray(ds.sites[C.COL_WYCKOFF].to_numpy()[ids], dtype=str),
        )

    def train_data(self) -> TaskData:
        """All training sites of the task (the union of the folds), with labels."""
        return self.data(self.train_ids)

    def test_data(self, include_target: bool = False) -> TaskData:
        """The test sites: structures to predict, without labels unless asked.

        Parameters
        ----------
        include_target : bool
            Also return the test tensors (``efg`` and the per-atom array); use
            this for analysis after scoring, never for fitting.
        """
        return self.data(self.test_ids, include_test_labels=include_target)

    def __iter__(self) -> Iterator[Fold]:
        """Iterate over the CV folds."""
        return iter(self.folds)

    # --------------------------------------------------------------- scoring
    def _key(self, fold_or_test: Fold | int | str) -> int | str:
        if isinstance(fold_or_test, Fold):
            if fold_or_test._task is not self:
                raise TaskError(f"{fold_or_test!r} belongs to another task; record it there.")
            return fold_or_test.index
        if isinstance(fold_or_test, str) and fold_or_test == TEST:
            return TEST
        if isinstance(fold_or_test, (int, np.integer)) and not isinstance(fold_or_test, bool):
            if 0 <= int(fold_or_test) < len(self.folds):
                return int(fold_or_test)
        raise TaskError(
            f"cannot record {fold_or_test!r}: pass a fold of task.folds, a fold index "
            f"0 … {len(self.folds) - 1} or {TEST!r}."
        )

    def _ids(self, key: int | str) -> NDArray[np.int64]:
        return self.test_ids if key == TEST else self.folds[int(key)].validation_ids

    def _checked(self, key: int | str, predictions: ArrayLike) -> NDArray[np.float64]:
        ids = self._ids(key)
        where = "the test set" if key == TEST else f"fold {key}"
        try:
            pred = np.asarray(predictions, dtype=np.float64)
        except (TypeError, ValueError):
            raise TaskError(
                f"predictions for {where} are not an array of numbers; give one 3×3 tensor "
                "(V/Å²) per target site."
            ) from None
        if pred.shape != (ids.size, 3, 3):
            raise TaskError(
                f"predictions for {where} have shape {pred.shape}, expected ({ids.size}, 3, 3): "
                "one tensor (V/Å²) per target site, in the order of data.site_id."
            )
        return pred

    def submission(self, predictions: ArrayLike, model_name: str | None = None) -> dict[str, Any]:
        """The test predictions as a submission dict (:func:`ltoefg.evaluate`'s input).

        Parameters
        ----------
        predictions : array_like, shape (n_test, 3, 3)
            One tensor per test site, V/Å², in the order of ``test_data().site_id``.
        model_name : str, optional
            Default: the task's ``model_name``.
        """
        return self._submission(TEST, self._checked(TEST, predictions), model_name)

    def _submission(
        self, key: int | str, pred: NDArray[np.float64], model_name: str | None
    ) -> dict[str, Any]:
        return {
            C.ATTR_DATASET: self.dataset.name,
            C.ATTR_SPLIT: self.split,
            C.ATTR_MODEL: self.model_name if model_name is None else model_name,
            C.ATTR_KIND: C.KIND_TENSOR,
            self.nucleus: {C.PRED_SITE_ID: self._ids(key), C.PRED_EFG: pred},
        }

    def record(
        self,
        fold_or_test: Fold | int | str,
        predictions: ArrayLike,
        model_name: str | None = None,
        tau: float = C.DEFAULT_TAU,
    ) -> dict[str, Any]:
        """Score predictions of a fold's validation sites or of the test sites.

        The predictions go through :func:`ltoefg.evaluate`, the evaluator of
        ``ltoefg evaluate`` (a fold is scored as if its validation ids were the
        split's test ids). Recording the same fold again replaces its report.

        Parameters
        ----------
        fold_or_test : Fold, int or ``"test"``
        predictions : array_like, shape (n, 3, 3)
            One EFG tensor per target site, V/Å², in the order of the data's
            ``site_id`` (ascending).
        model_name : str, optional
            Default: the task's ``model_name``.
        tau : float
            Eigenvalue-reassignment tolerance (fraction of |Vzz_ref|).

        Returns
        -------
        dict
            The evaluator's report (SPEC §6.3); ``report["score"]`` is the score.

        Raises
        ------
        TaskError
            Unknown fold or predictions of the wrong shape.
        ltoefg.errors.SubmissionError
            Whatever the evaluator refuses (NaN, inf, implausible values, …).
        """
        from ltoefg.evaluation.score import evaluate

        key = self._key(fold_or_test)
        pred = self._checked(key, predictions)
        dataset: Any = self.dataset
        if key != TEST:
            dataset = _FoldView(self.dataset, self.split, self.nucleus, self.folds[int(key)])
        report = evaluate(self._submission(key, pred, model_name), dataset=dataset, tau=tau)
        self.reports[key] = report
        self._predictions[key] = pred
        return report

    def score(self, fold_or_test: Fold | int | str = TEST) -> float:
        """The recorded score of the test set (default) or of one fold (lower is better).

        Raises
        ------
        TaskError
            Nothing recorded for it yet.
        """
        key = self._key(fold_or_test)
        if key not in self.reports:
            what = "the test set" if key == TEST else f"fold {key}"
            raise TaskError(
                f"nothing recorded for {what} yet; call task.record({key!r}, predictions) first."
            )
        return float(self.reports[key][C.RT_SCORE])

    def cv_score(self) -> tuple[float, float]:
        """Mean and population standard deviation of the 5 fold scores.

        Raises
        ------
        TaskError
            A fold has not been recorded.
        """
        missing = [f.index for f in self.folds if f.index not in self.reports]
        if missing:
            raise TaskError(
                f"folds {', '.join(map(str, missing))} have not been recorded; record every "
                "fold with task.record(fold, predictions) before asking for the CV score."
            )
        scores = np.array([self.score(f.index) for f in self.folds])
        return float(scores.mean()), float(scores.std())

    def summary(self) -> dict[str, Any]:
        """What was recorded, as JSON-able numbers.

        Returns
        -------
        dict
            ``dataset``, ``split``, ``nucleus``, ``model``, ``test_score`` (or
            None), ``fold_scores`` (fold index -> score, recorded folds only) and
            ``cv_mean`` / ``cv_std`` (None until every fold is recorded).
        """
        folds = {f.index: self.score(f) for f in self.folds if f.index in self.reports}
        cv = self.cv_score() if len(folds) == len(self.folds) else (None, None)
        test = self.score() if TEST in self.reports else None
        return {
            "dataset": self.dataset.name,
            "split": self.split,
            "nucleus": self.nucleus,
            "model": self.model_name,
            "test_score": test,
            "fold_scores": folds,
            "cv_mean": cv[0],
            "cv_std": cv[1],
        }

    def write_predictions(
        self,
        path: str | os.PathLike[str],
        predictions: ArrayLike | None = None,
        model_name: str | None = None,
    ) -> Path:
        """Write test predictions as a ``predictions.h5`` file for ``ltoefg evaluate``.

        Parameters
        ----------
        path : str or path-like
            The file to write (its folder must exist).
        predictions : array_like, shape (n_test, 3, 3), optional
            V/Å², in the order of ``test_data().site_id``; default: the ones
            recorded with ``task.record("test", ...)``.
        model_name : str, optional
            Default: the task's ``model_name``.

        Returns
        -------
        pathlib.Path
        """
        from ltoefg.evaluation import submission

        if predictions is None:
            if TEST not in self._predictions:
                raise TaskError(
                    "no test predictions to write; pass them, or record them first with "
                    'task.record("test", predictions).'
                )
            predictions = self._predictions[TEST]
        return submission.write(path, self.submission(predictions, model_name))
