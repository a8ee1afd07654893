"""The ``ltoefg`` command line: the parser, the entry point and the ``example`` command.

One module per command group registers its sub-commands through
:mod:`ltoefg.cli.registry`: :mod:`~ltoefg.cli.data` (fetch, info, generate,
build), :mod:`~ltoefg.cli.evaluation` (template, evaluate, leaderboard),
:mod:`~ltoefg.cli.dft` (dft ...), :mod:`~ltoefg.cli.cite` (cite).

Every sub-command reports bad input as one sentence on stderr and exits with
status 2 (no traceback); see :class:`ltoefg.errors.LtoefgError`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ltoefg.cli.registry import COMMANDS, Handler, command
from ltoefg.errors import LtoefgError


@command
def _example(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "example",
        help="score a small built-in example (reference vs. noisy tensors) and print the report",
    )
    p.add_argument("--nucleus", default="Li", choices=["Li", "Ti", "O"])
    p.add_argument("--n", type=int, default=1000, help="number of synthetic sites")
    p.set_defaults(handler=_run_example)


def _run_example(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from ltoefg import metrics

    rng = np.random.default_rng(0)
    ref = rng.normal(size=(args.n, 3, 3))
    pred = ref + 0.05 * rng.normal(size=ref.shape)
    rep = metrics.report(ref, pred, args.nucleus, mu=1.0, sigma=0.5)
    print("synthetic example (random tensors, not the LTO data set):")
    print(json.dumps(rep, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    import ltoefg.cli.cite  # noqa: F401  (registers its sub-commands)
    import ltoefg.cli.data  # noqa: F401  (registers its sub-commands)
    import ltoefg.cli.dft  # noqa: F401  (registers its sub-commands)
    import ltoefg.cli.evaluation  # noqa: F401  (registers its sub-commands)
    from ltoefg.version import __version__

    parser = argparse.ArgumentParser(
        prog="ltoefg",
        description="LTO-EFG benchmark: data set, observable-targeted metrics, evaluator.",
    )
    parser.add_argument("--version", action="version", version=f"ltoefg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ltoefg`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except LtoefgError as exc:
        print(f"ltoefg: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ltoefg: interrupted", file=sys.stderr)
        return 130
