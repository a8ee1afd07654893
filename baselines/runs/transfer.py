"""Transfer baseline: λ-SOAP SA-GPR trained on point-charge labels, scored on DFT labels.

``python -m baselines transfer`` trains the λ-SOAP SA-GPR of
:mod:`baselines.models.soap` on a *source* data set (default ``pcm-v2``,
point-charge labels) and scores it on the test split of a *target* data set
whose structures are source structures (default ``dft-pbe-v1``, Elk all-electron PBE
labels of pcm-v2 structures; its structure table's ``structure`` column holds
the source ids). It answers the question: does a model of the
point-charge surrogate predict DFT EFGs?

Decisions (docs/baselines.md, "Transfer"):

* The training sites are source sites of every source structure **that is not
  a target structure** (training or test): the target's structures are never
  seen, with any label. Without this, the model would have been trained on
  the test structures' geometries.
* Hyperparameters: those of a tuned source entry (``--hypers-from``), else the
  quick ones; nothing is tuned on the target (it would be a target-trained
  model).
* Spread: the one fitted model is scored on the validation sites of each of
  the target's 5 frozen CV folds (target training structures it never saw),
  so ``runs`` is a spread over disjoint structure groups, not over refits; the
  entry's protocol sentence says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from baselines.cli import CommandError, command
from baselines.runs.commands import _nuclei, entry_hyperparameters
from ltoefg import constants as C

#: Model name of the transfer entry; ``{source}`` is the source data set.
TRANSFER_MODEL = "λ-SOAP SA-GPR trained on {source} (transfer)"
DESCRIPTION = (
    "The λ-SOAP SA-GPR of Harper, Köcher, Reuter & Scheurer (J. Mater. Chem. A 2025, §2.5) "
    "trained on the point-charge labels of {source} (every structure except this data set's "
    "own) and scored on these labels without any refit: how far a model of the point-charge "
    "surrogate is from DFT."
)


def source_ids_of(target: Any, source_name: str) -> NDArray[np.int64]:
    """Source structure ids of the target's structures (row order of the target).

    Raises
    ------
    CommandError
        If the target does not record ``source_name`` as the data set its
        structures come from.
    """
    params = target.generator_parameters
    recorded = params.get("source_dataset") if isinstance(params, dict) else None
    if recorded != source_name:
        raise CommandError(
            f"{target.path}: its structures are not {source_name} structures "
            f"(source_dataset {recorded!r}); pass the matching --source."
        )
    return target.structure_table[C.COL_STRUCTURE].to_numpy().astype(np.int64)


def training_ids(source: Any, nucleus: str, excluded: NDArray[np.int64]) -> NDArray[np.int64]:
    """Source site ids of ``nucleus`` outside the ``excluded`` source structures (sorted)."""
    ids = source.site_ids(nucleus)
    keep = ~np.isin(source.site_structure[ids], excluded)
    return np.sort(ids[keep])


def tuned_tensor_hypers(
    record: dict[str, Any], nuclei: tuple[str, ...], source: str = "--hypers-from"
) -> dict[str, dict[str, float]]:
    """Per nucleus, the tuned λ-SOAP factors (cutoff, width, regularisation) of an entry.

    Raises
    ------
    CommandError
        If a nucleus is missing or its record is not a tuned λ-SOAP record.
    """
    from baselines.runs import pipeline as P

    out = {}
    for nucleus in nuclei:
        try:
            out[nucleus] = P._best_from_record(C.KIND_TENSOR, record[nucleus])["score"]
        except (KeyError, TypeError, AttributeError):
            raise CommandError(
                f"{source}: the entry has no tuned λ-SOAP hyperparameters for {nucleus}; "
                "pass the entry of a λ-SOAP SA-GPR run on the source data set."
            ) from None
    return out


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", default=C.DEFAULT_DATASET, help="training data set (labels)")
    p.add_argument("--target", default="dft-pbe-v1", help="data set (or .h5 file) to score on")
    p.add_argument("--split", choices=C.SPLITS, default="structure")
    p.add_argument("--nuclei", type=_nuclei, default=C.NUCLEI, help="e.g. Li,Ti,O")
    p.add_argument(
        "--n-train", type=int, default=None, help="training sites per nucleus (default all)"
    )
    p.add_argument(
        "--hypers-from",
        type=Path,
        default=None,
        help="leaderboard entry of the source whose tuned λ-SOAP hyperparameters to use",
    )
    p.add_argument("--n-active", type=int, default=None, help="active environments")
    p.add_argument("--tag", default="", help="appended to the model name")
    p.add_argument("--out", type=Path, default=Path("out/transfer"))
    p.add_argument("--no-entries", action="store_true", help="do not write a leaderboard entry")


@command(
    "transfer",
    help="λ-SOAP trained on point-charge labels (pcm-v2), scored on DFT labels (dft-pbe-v1)",
    arguments=_arguments,
)
def _run(args: argparse.Namespace) -> int:
    from baselines.runs.commands import _files_written, _summary

    fixed = None
    if args.hypers_from is not None:
        record = entry_hyperparameters(args.hypers_from)
        fixed = tuned_tensor_hypers(record, args.nuclei, source=str(args.hypers_from))
        fixed_names = args.hypers_from.name
    written: list[Path] = []
    report, _ = run_transfer(
        args.source,
        args.target,
        args.split,
        args.nuclei,
        args.out,
        n_train=args.n_train,
        fixed=fixed,
        fixed_source=fixed_names if fixed is not None else "",
        n_active=args.n_active,
        tag=args.tag,
        root=None if args.no_entries else _repo(),
        written=written,
    )
    print(_summary(report))
    print(_files_written(written))
    return 0


def _repo() -> Path:
    return Path(__file__).resolve().parents[2]


def run_transfer(
    source_name: str,
    target_name: str | Path,
    split: str,
    nuclei: tuple[str, ...],
    out_dir: Path,
    n_train: int | None = None,
    fixed: dict[str, Any] | None = None,
    fixed_source: str = "",
    n_active: int | None = None,
    tag: str = "",
    root: Path | None = None,
    written: list[Path] | None = None,
    log: Any = print,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train on ``source_name``, predict and score the ``split`` test sites of ``target_name``.

    Parameters
    ----------
    source_name : str
        Registered data set (or .h5 path) of the training labels.
    target_name : str or pathlib.Path
        Data set whose structures are ``source_name`` structures.
    split : str
        Split of the target whose test sites are scored.
    nuclei : tuple of str
    out_dir : pathlib.Path
        Predictions, report and models go here.
    n_train : int, optional
        Training sites per nucleus (seeded subset; default all eligible).
    fixed : dict, optional
        Per nucleus, the tuned λ-SOAP factors (:func:`tuned_tensor_hypers` of a
        source entry's ``hyperparameters``).
    fixed_source : str
        File name of that entry.
    n_active : int, optional
        Active environments (overrides the hyperparameters').
    tag : str
        Appended to the model name.
    root : pathlib.Path, optional
        Checkout whose ``leaderboard/entries`` receives the entry.
    written : list, optional
        Every file written is appended.
    log : callable
        Progress messages.

    Returns
    -------
    (report, entry) : tuple of dict
    """
    import ltoefg
    from baselines.runs import cv_spread as CVS
    from baselines.runs import pipeline as P
    from ltoefg import leaderboard
    from ltoefg.evaluation import submission as S
    from ltoefg.leaderboard import fields as LF

    written = [] if written is None else written
    source = ltoefg.load(source_name)
    target = ltoefg.load(target_name)
    if source.label_method == target.label_method:
        raise CommandError(
            f"{target.path}: has the same labels ({target.label_method}) as the source; "
            "transfer is between two label methods."
        )
    excluded = source_ids_of(target, source.name)
    src_frames, tgt_frames = P._frames(source), P._frames(target)
    name = P.model_name(TRANSFER_MODEL.format(source=source.name), tag)
    out_dir.mkdir(parents=True, exist_ok=True)
    submission: dict[str, Any] = {
        C.ATTR_DATASET: target.name,
        C.ATTR_SPLIT: split,
        C.ATTR_MODEL: name,
        C.ATTR_KIND: C.KIND_TENSOR,
    }
    record: dict[str, Any] = {}
    n_train_used: dict[str, int] = {}
    n_parameters: dict[str, int] = {}
    fold_runs: dict[str, list[dict[str, float | None]]] = {}
    train_s = predict_s = 0.0
    for k, nucleus in enumerate(nuclei):
        ids = P.subsample(training_ids(source, nucleus, excluded), n_train, salt=30 + k)
        train = P.nucleus_data(source, ids, nucleus)
        sp = target.split(split, nucleus)
        scored = np.union1d(sp.test, sp.train)
        tgt = P.nucleus_data(target, scored, nucleus)
        hypers = P.QUICK_HYPERS
        if fixed is not None:
            hypers = dataclasses.replace(hypers, **fixed[nucleus])
        if n_active is not None:
            hypers = dataclasses.replace(hypers, n_active=n_active)
        log(f"{name}: fitting {nucleus} on {ids.size} {source.name} sites")
        t0 = time.perf_counter()
        from baselines.models.soap import TensorSoapModel

        model = TensorSoapModel(hypers)
        model.fit_descriptors(model.descriptors(src_frames, train.centres), train.efg)
        t1 = time.perf_counter()
        pred = model.predict(tgt_frames, tgt.centres)
        t2 = time.perf_counter()
        train_s += t1 - t0
        predict_s += t2 - t1
        model.training_data = {
            "dataset": source.name,
            "label_method": source.label_method,
            "excluded_structures": "every structure of " + str(target.name),
            "nucleus": nucleus,
            "n_train": int(ids.size),
        }
        written.append(out_dir / f"model-transfer-{nucleus}.npz")
        model.save(written[-1])
        rows = {int(i): r for r, i in enumerate(tgt.ids)}
        test_rows = np.array([rows[int(i)] for i in sp.test], dtype=np.int64)
        submission[nucleus] = {C.PRED_SITE_ID: tgt.ids[test_rows], C.PRED_EFG: pred[test_rows]}
        mu, sigma = target.stats(nucleus)
        fold_runs[nucleus] = []
        for _, va in sp.folds:
            va_rows = np.array([rows[int(i)] for i in va], dtype=np.int64)
            fold_runs[nucleus].append(
                CVS.tensor_fold_metrics(tgt.efg[va_rows], pred[va_rows], nucleus, mu, sigma)
            )
        record[nucleus] = {
            "hypers": hypers.to_dict(),
            "trained_on": source.name,
            "hypers_from": fixed_source or "quick hyperparameters",
        }
        n_train_used[nucleus] = int(ids.size)
        n_parameters[nucleus] = CVS.weights_count(model)
    pred_path = S.write(out_dir / "predictions-transfer.h5", submission)
    written.append(pred_path)
    report = ltoefg.evaluate(pred_path, dataset=target)
    written.append(out_dir / "report-transfer.json")
    written[-1].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    n_runs, runs = LF.make_runs(
        fold_runs,
        over=C.RUNS_OVER_FOLDS,
        protocol=(
            f"One model (no refit) scored on the validation sites of each of the {C.N_FOLDS} "
            f"frozen folds of the {split} split of {target.name}: a spread over disjoint groups "
            "of structures the model never saw."
        ),
    )
    notes = (
        f"Trained on {source.name} labels ({source.label_method}, not DFT), scored on "
        f"{target.name} labels ({target.label_method}). No structure of {target.name} is "
        "among the training structures. "
        + (
            f"Hyperparameters tuned on {source.name} ({fixed_source})."
            if fixed is not None
            else "Fixed (quick) hyperparameters."
        )
    )
    entry = leaderboard.make_entry(
        report,
        code_version=P.code_version(),
        hyperparameters=record,
        n_train=n_train_used,
        train_wall_time_s=round(train_s, 1),
        predict_wall_time_s=round(predict_s, 1),
        machine=P.machine_description(),
        notes=notes,
        code_url="baselines/runs/transfer.py",
        description=DESCRIPTION.format(source=source.name),
        n_parameters=n_parameters,
        runs=runs,
        n_runs=n_runs,
    )
    if root is not None:
        path = leaderboard.write_entry(root, entry)
        written.append(path)
        log(f"wrote {path}")
    return report, entry
