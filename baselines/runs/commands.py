"""Sub-commands ``quick``, ``train`` and ``learning-curve`` of ``python -m baselines``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from baselines.cli import CommandError, command
from baselines.runs.reproduce import compare, tolerances
from ltoefg import constants as C

REPO = Path(__file__).resolve().parents[2]
#: Entry fields besides the report that ``quick --check`` compares (when committed),
#: with the tolerances of :mod:`baselines.runs.reproduce`.
CHECKED_FIELDS: tuple[str, ...] = (C.LB_N_PARAMETERS, C.LB_N_RUNS, C.LB_RUNS)


def _nuclei(text: str) -> tuple[str, ...]:
    nuclei = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in nuclei if n not in C.NUCLEI]
    if bad or not nuclei:
        raise argparse.ArgumentTypeError(f"nuclei must be among {', '.join(C.NUCLEI)}")
    return nuclei


def entry_hyperparameters(path: Path) -> dict[str, Any]:
    """The ``hyperparameters`` field of a leaderboard entry file (per nucleus).

    Raises
    ------
    CommandError
        If the file cannot be read, is not JSON, or has no such field (a JSON object).
    """
    try:
        record = json.loads(path.read_text())[C.LB_HYPERPARAMETERS]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{path}: not a readable leaderboard entry ({exc}).") from None
    if not isinstance(record, dict):
        raise CommandError(f"{path}: its hyperparameters are not a JSON object; use an entry.")
    return record


#: ``--model`` choices → baseline keys of :data:`baselines.runs.pipeline.MODELS`.
MODEL_CHOICES: dict[str, list[str]] = {
    "tensor": ["tensor"],
    "scalar": ["scalar"],
    "ridge": ["ridge"],
    "lode": ["lode"],
    "delta": ["delta"],
    "both": ["tensor", "scalar"],
    "core": ["tensor", "scalar", "ridge"],
    "beyond": ["lode", "delta"],
    "tensors": ["tensor", "ridge", "lode", "delta"],
    "all": ["tensor", "scalar", "ridge", "lode", "delta"],
}


def _models(choice: str) -> list[str]:
    return MODEL_CHOICES[choice]


def _summary(report: dict[str, Any]) -> str:
    """Per-nucleus MAEs of one report; fractions as percentages."""
    keys = (
        (C.R_MAE_CQ_TILDE, "C̃Q"),
        (C.R_MAE_ETA_TILDE, "η̃"),
        (C.R_MAE_THETA_DEG, "θ°"),
        (C.R_MAE_PHI_DEG, "φ°"),
        (C.R_MAE_OMEGA_Q_KHZ, "ωQ kHz"),
    )
    from ltoefg.evaluation.report import label_phrase

    lines = [
        f"  {report[C.RT_MODEL]} — {report[C.RT_DATASET]} "
        f"({label_phrase(report[C.RT_LABEL_METHOD])}), split {report[C.RT_SPLIT]}: MAE"
    ]
    for nucleus, rep in report[C.RT_NUCLEI].items():
        cells = "  ".join(f"{label} {rep[k]:.3g}" for k, label in keys)
        within = 100 * rep[C.R_FRAC_OMEGA_Q_WITHIN]
        score = "—" if rep[C.R_SCORE] is None else f"{rep[C.R_SCORE]:.3g}"
        lines.append(f"    {nucleus:<3} {cells}  |ΔωQ| ≤ 10 kHz {within:.1f} %  score {score}")
    return "\n".join(lines)


def _size(nbytes: int) -> str:
    """Bytes as B, kB, MB or GB (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def _files_written(paths: list[Path]) -> str:
    """The files a run wrote, with their sizes."""
    lines = ["files written:"]
    for path in dict.fromkeys(paths):  # unique, in order
        size = _size(path.stat().st_size) if path.is_file() else "missing"
        lines.append(f"  {size:>9}  {path}")
    return "\n".join(lines)


def _overall_scores(entries: list[dict[str, Any]]) -> str:
    """Overall score (mean over nuclei) and its CV spread per model, best first."""
    from ltoefg.leaderboard import fields as LF

    def overall(e: dict[str, Any]) -> float | None:
        scores = [r[C.R_SCORE] for r in e[C.LB_REPORT][C.RT_NUCLEI].values()]
        return None if any(v is None for v in scores) else sum(scores) / len(scores)

    lines = ["overall score (mean of the per-nucleus scores; lower is better):"]
    width = max(len(e[C.LB_MODEL]) for e in entries)
    for e in sorted(entries, key=lambda e: (overall(e) is None, overall(e) or 0.0)):
        score = overall(e)
        if score is None:
            no_score = "—      (observables only: no ξ, no score)"
            lines.append(f"  {e[C.LB_MODEL]:<{width}}  {no_score}")
            continue
        spread = LF.overall_runs(e[C.LB_RUNS]) if C.LB_RUNS in e else None
        cv = (
            ""
            if spread is None
            else (f"  (CV {spread[0]:.3g} ± {spread[1]:.2g} over {e[C.LB_N_RUNS]} folds)")
        )
        lines.append(f"  {e[C.LB_MODEL]:<{width}}  {score:<7.3g}{cv}")
    return "\n".join(lines)


def _quick_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("out/quick"), help="output folder")
    p.add_argument("--nuclei", type=_nuclei, default=C.NUCLEI, help="e.g. Li,Ti,O")
    p.add_argument("--model", choices=list(MODEL_CHOICES), default="all")
    p.add_argument(
        "--check",
        action="store_true",
        help="compare with the committed quick entries instead of rewriting them (exit 1 on drift)",
    )
    p.add_argument("--no-entries", action="store_true", help="do not write leaderboard entries")


@command(
    "quick",
    help="the baselines with fixed hyperparameters on a training subset (random split)",
    arguments=_quick_args,
)
def _run_quick(args: argparse.Namespace) -> int:
    from baselines.runs import beyond
    from baselines.runs import pipeline as P
    from ltoefg import leaderboard

    opts = P.RunOptions(nuclei=args.nuclei, n_train=P.QUICK_N_TRAIN, tag="quick")
    drift: list[str] = []
    written: list[Path] = []
    entries: list[dict[str, Any]] = []
    for model in _models(args.model):
        write = not (args.check or args.no_entries)
        run_opts = opts
        if model in beyond.KEYS:  # quick: beyond.QUICK_NUCLEI only (CI time)
            nuclei = tuple(n for n in opts.nuclei if n in beyond.QUICK_NUCLEI)
            if not nuclei:
                continue
            run_opts = dataclasses.replace(opts, nuclei=nuclei)
        report, entry = P.run(
            model, run_opts, args.out, root=REPO if write else None, written=written
        )
        entries.append(entry)
        print(_summary(report))
        if args.check:
            name = leaderboard.entry_filename(
                report[C.RT_DATASET], report[C.RT_SPLIT], report[C.RT_MODEL]
            )
            path = REPO / leaderboard.ENTRIES_DIR / name
            if not path.is_file():
                raise CommandError(
                    f"{path}: no committed quick entry to check against; run without --check."
                )
            old = json.loads(path.read_text())
            drift += [f"{name}: {d}" for d in compare(report, old[C.LB_REPORT])]
            for key in CHECKED_FIELDS:  # the CV spread and parameter counts, where committed
                if key in old:
                    drift += [f"{name}: {d}" for d in compare(entry.get(key), old[key], key)]
    print(_files_written(written))
    print(_overall_scores(entries))
    if args.check:
        if drift:
            print(f"quick results differ from the committed entries ({tolerances()}):")
            print("\n".join(f"  {d}" for d in drift[:40]))
            if len(drift) > 40:
                print(f"  … and {len(drift) - 40} more")
            return 1
        print(f"quick results reproduce the committed entries ({tolerances()}).")
    return 0


def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=list(MODEL_CHOICES), default="all")
    p.add_argument("--dataset", default=C.DEFAULT_DATASET)
    p.add_argument("--split", choices=C.SPLITS, default="random")
    p.add_argument("--nuclei", type=_nuclei, default=C.NUCLEI, help="e.g. Li,Ti,O")
    p.add_argument(
        "--n-train", type=int, default=None, help="training sites per nucleus (default all)"
    )
    p.add_argument("--hpo", action="store_true", help="Box-Behnken search with 5-fold CV")
    p.add_argument("--n-cv", type=int, default=2000, help="training sites used in the CV search")
    p.add_argument("--n-active-cv", type=int, default=500, help="active environments in the search")
    p.add_argument(
        "--hypers-from",
        type=Path,
        default=None,
        help="leaderboard entry whose tuned hyperparameters to reuse (per nucleus and target)",
    )
    p.add_argument("--hypers", type=Path, default=None, help="JSON file of fixed hyperparameters")
    p.add_argument(
        "--n-active", type=int, default=None, help="active environments of the sparse GPR"
    )
    p.add_argument("--tag", default="", help="appended to the model name")
    p.add_argument("--out", type=Path, default=Path("out/train"))
    p.add_argument("--no-entries", action="store_true", help="do not write leaderboard entries")


@command(
    "train", help="train, evaluate and record a baseline (optionally tuned)", arguments=_train_args
)
def _run_train(args: argparse.Namespace) -> int:
    from baselines.models.soap import Hypers
    from baselines.runs import pipeline as P

    hypers = P.QUICK_HYPERS
    if args.hypers is not None:
        try:
            hypers = Hypers.from_dict(json.loads(args.hypers.read_text()))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{args.hypers}: not a valid hyperparameter file ({exc}).") from None
    if args.n_active is not None:
        hypers = dataclasses.replace(hypers, n_active=args.n_active)
    fixed = None if args.hypers_from is None else entry_hyperparameters(args.hypers_from)
    opts = P.RunOptions(
        dataset=args.dataset,
        split=args.split,
        nuclei=args.nuclei,
        n_train=args.n_train,
        hypers=hypers,
        hpo=args.hpo,
        n_cv=args.n_cv,
        n_active_cv=args.n_active_cv,
        tag=args.tag,
        fixed=fixed,
        fixed_source=args.hypers_from.name if args.hypers_from is not None else "",
    )
    written: list[Path] = []
    entries: list[dict[str, Any]] = []
    for model in _models(args.model):
        if fixed is not None and args.model in ("both", "beyond", "all"):
            raise CommandError(
                "--hypers-from reuses one entry: pass --model tensor or --model scalar."
            )
        report, entry = P.run(
            model,
            opts,
            args.out / model,
            root=None if args.no_entries else REPO,
            written=written,
        )
        entries.append(entry)
        print(_summary(report))
    print(_files_written(written))
    print(_overall_scores(entries))
    return 0


def _curve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default=C.DEFAULT_DATASET)
    p.add_argument("--model", choices=list(MODEL_CHOICES), default="all")
    p.add_argument("--nucleus", choices=C.NUCLEI, default="Li")
    p.add_argument("--split", choices=C.SPLITS, default="random")
    p.add_argument(
        "--sizes",
        default="250,500,1000,2000,4000,8000,all",
        help="training-set sizes, comma-separated ('all' = the whole training set)",
    )
    p.add_argument("--tensor-entry", type=Path, default=None, help="entry with tuned λ-SOAP hypers")
    p.add_argument("--scalar-entry", type=Path, default=None, help="entry with tuned scalar hypers")
    p.add_argument("--lode-entry", type=Path, default=None, help="entry with tuned LODE hypers")
    p.add_argument("--delta-entry", type=Path, default=None, help="entry with tuned Δ-model hypers")
    p.add_argument("--n-active", type=int, default=1000, help="active environments (capped at n)")
    p.add_argument("--out", type=Path, default=Path("leaderboard/learning-curves"))


@command(
    "learning-curve",
    help="metrics vs. training-set size of the baselines (paper Fig. 5): CSV table + PNG plot",
    arguments=_curve_args,
)
def _run_curve(args: argparse.Namespace) -> int:
    from baselines.runs import learning_curve as L

    sizes: list[int | None] = []
    for word in args.sizes.split(","):
        word = word.strip()
        if word == "all":
            sizes.append(None)
        elif word.isdigit() and int(word) > 0:
            sizes.append(int(word))
        else:
            raise CommandError(f"--sizes: {word!r} is not a positive integer or 'all'.")
    entries = {}
    sources = (
        (C.KIND_TENSOR, args.tensor_entry),
        (C.KIND_OBSERVABLES, args.scalar_entry),
        ("lode", args.lode_entry),
        ("delta", args.delta_entry),
    )
    for kind, path in sources:
        if path is not None:
            entries[kind] = entry_hyperparameters(path)
    import ltoefg

    table = L.learning_curve(
        args.nucleus, args.split, sizes, entries, args.n_active, args.dataset, _models(args.model)
    )
    label_method = ltoefg.load(args.dataset).label_method
    csv, png = L.write(table, args.out, args.nucleus, args.split, args.dataset, label_method)
    shown = table.copy()
    shown[C.R_FRAC_OMEGA_Q_WITHIN] = [f"{100 * v:.1f} %" for v in shown[C.R_FRAC_OMEGA_Q_WITHIN]]
    print(shown.rename(columns={C.R_FRAC_OMEGA_Q_WITHIN: "within_10khz"}).to_string(index=False))
    print(f"wrote {csv}" + (f" and {png}" if png else ""))
    return 0
