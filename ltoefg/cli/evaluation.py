"""Evaluator sub-commands of the CLI: ``template``, ``evaluate``, ``leaderboard``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ltoefg import constants as C
from ltoefg.cli.registry import command
from ltoefg.errors import LtoefgError


def _nuclei_arg(text: str) -> list[str]:
    items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in C.NUCLEI]
    if bad or not items:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(C.NUCLEI)}, got {text!r}"
        )
    return items


def _tau_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"τ is a fraction of |Vzz_ref| in [0, 1), got {text}")
    return value


def _open(name_or_path: str) -> Any:
    from ltoefg.data import load

    return load(
        Path(name_or_path) if Path(name_or_path).suffix in (".h5", ".hdf5") else name_or_path
    )


# ---------------------------------------------------------------------------- template
@command
def _template(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "template",
        help="write a valid predictions.h5 with the split's test ids and NaN values to fill",
    )
    p.add_argument(
        "--dataset",
        default=C.DEFAULT_DATASET,
        help=f"data-set version or .h5 file (default {C.DEFAULT_DATASET})",
    )
    p.add_argument("--split", required=True, choices=C.SPLITS, help="train/test split")
    p.add_argument("--nuclei", type=_nuclei_arg, default=None, help="e.g. Li,Ti,O (default: all)")
    p.add_argument("--kind", choices=C.KINDS, default=C.KIND_TENSOR, help="default tensor")
    p.add_argument("--model", default="", help="model name stored in the file")
    p.add_argument("--out", required=True, type=Path, help="output .h5 file")
    p.set_defaults(handler=_run_template)


def _run_template(args: argparse.Namespace) -> int:
    from ltoefg.evaluation import submission as S
    from ltoefg.io.outputs import check_file_target

    check_file_target(args.out, "template")
    ds = _open(args.dataset)
    data = S.template(ds, args.split, args.nuclei, kind=args.kind, model=args.model)
    S.write(args.out, data)
    counts = ", ".join(f"{n} {len(data[n][C.PRED_SITE_ID])}" for n in C.NUCLEI if n in data)
    names = [k for k in data[next(n for n in C.NUCLEI if n in data)] if k != C.PRED_SITE_ID]
    print(
        f"wrote {args.out}: data set {ds.name}, split {args.split}, kind {args.kind}, "
        f"test sites {counts}; fill {', '.join(names)} (NaN now) and run "
        f"`ltoefg evaluate {args.out}`"
        + (
            f" (optionally add {C.PRED_SIGN_VZZ}, ±1 per site; without it ωQ derived from "
            "the observables assumes Vzz > 0)"
            if args.kind == C.KIND_OBSERVABLES
            else ""
        )
    )
    return 0


# ---------------------------------------------------------------------------- evaluate
@command
def _evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a predictions.h5 submission: per-nucleus table, JSON report, plots",
    )
    p.add_argument("predictions", type=Path, help="the submission file")
    p.add_argument("--json", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--plots", type=Path, default=None, help="write parity/distribution PNGs here")
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse non-symmetric or non-traceless tensors instead of projecting them",
    )
    p.add_argument(
        "--tau",
        type=_tau_arg,
        default=C.DEFAULT_TAU,
        help=f"eigenvalue-reassignment tolerance, fraction of |Vzz_ref| (default {C.DEFAULT_TAU})",
    )
    p.add_argument("--nuclei", type=_nuclei_arg, default=None, help="score only these, e.g. Li")
    p.add_argument(
        "--dataset-file",
        type=Path,
        default=None,
        help="score against this local data-set .h5 (its name must match the submission's)",
    )
    p.set_defaults(handler=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    from ltoefg.evaluation.report import format_report
    from ltoefg.evaluation.score import run
    from ltoefg.io import outputs

    # outputs are checked before any work, and written only after everything succeeded
    if args.plots is not None:
        from ltoefg.evaluation.plots import require_matplotlib

        require_matplotlib()
        outputs.check_dir_target(args.plots, "plots")
    if args.json is not None:
        outputs.check_file_target(args.json, "JSON report")
    dataset = None
    if args.dataset_file is not None:
        from ltoefg.data import load

        if not args.dataset_file.is_file():
            raise LtoefgError(
                f"{args.dataset_file}: --dataset-file must name an existing ltoefg data-set "
                "file (.h5), e.g. one written by `ltoefg build --magres`."
            )
        dataset = load(Path(args.dataset_file))
    evaluation = run(
        args.predictions, dataset=dataset, tau=args.tau, strict=args.strict, nuclei=args.nuclei
    )
    files: dict[Path, str | bytes] = {}
    if args.plots is not None:
        from ltoefg.evaluation.plots import render_plots

        files.update({args.plots / n: png for n, png in render_plots(evaluation).items()})
    if args.json is not None:
        files[args.json] = outputs.json_text(evaluation.report, args.json)
    print(format_report(evaluation.report, source=str(args.predictions)), end="")
    new_dirs = (args.plots,) if args.plots is not None else ()
    for path in outputs.commit(files, new_dirs=new_dirs):
        print(f"wrote {path}")
    return 0


# ------------------------------------------------------------------------- leaderboard
@command
def _leaderboard(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="render leaderboard/README.md and the README results table from the entries",
        description="Without an action: render leaderboard/README.md and the README results "
        "table from leaderboard/entries (--check: only compare). `ltoefg leaderboard show`: "
        "print the board in the terminal.",
        usage="%(prog)s [-h] [--root ROOT] [--check] | %(prog)s show [options]",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="checkout holding leaderboard/ and README.md (default: current folder)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a rendered file differs from the committed one",
    )
    p.set_defaults(handler=_run_leaderboard)
    actions = p.add_subparsers(dest="leaderboard_action", metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="print the board in the terminal (sorted by overall score; writes nothing)",
        description="Print the leaderboard as fixed-width tables: per data set and split, "
        "entries sorted by overall score (mean of their per-nucleus scores), then the "
        "observables-only entries by MAE C̃Q; with --nucleus, that nucleus's detailed table.",
    )
    show.add_argument("--dataset", default=None, help="only this data set, e.g. pcm-v2")
    show.add_argument("--split", choices=C.SPLITS, default=None, help="only this split")
    show.add_argument(
        "--nucleus", choices=C.NUCLEI, default=None, help="detailed table of this nucleus"
    )
    show.add_argument(
        "--legacy", action="store_true", help="include report-version-1 (legacy) entries"
    )
    show.add_argument(
        "--root",
        dest="show_root",
        type=Path,
        default=None,
        help="checkout holding leaderboard/ (default: current folder)",
    )
    show.set_defaults(handler=_run_leaderboard_show)


def _run_leaderboard_show(args: argparse.Namespace) -> int:
    from ltoefg import leaderboard as L
    from ltoefg.leaderboard.show import render_show

    root = args.show_root if args.show_root is not None else args.root
    if not (Path(root) / "leaderboard").is_dir():
        raise LtoefgError(
            f"{Path(root) / 'leaderboard'}: no leaderboard folder here; run from the checkout "
            "or pass --root."
        )
    text = render_show(
        L.load_entries(root),
        dataset=args.dataset,
        split=args.split,
        nucleus=args.nucleus,
        legacy=args.legacy,
    )
    print(text, end="")
    return 0


def _run_leaderboard(args: argparse.Namespace) -> int:
    import sys

    from ltoefg import leaderboard as L

    rendered = L.render_files(args.root)
    if rendered.readme_note:
        print(rendered.readme_note, file=sys.stderr)
    stale = L.stale_files(rendered)
    if args.check:
        for path in stale:
            print(f"{path} is out of date; run `ltoefg leaderboard` and commit it", file=sys.stderr)
        if not stale:
            print(f"leaderboard up to date ({rendered.n_entries} entries)")
        return 1 if stale else 0
    for path in L.write_rendered(rendered):
        print(f"wrote {path}")
    if not stale:
        print(f"leaderboard already up to date ({rendered.n_entries} entries)")
    return 0
