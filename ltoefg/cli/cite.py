"""``ltoefg cite``: how to cite the package, its data and the paper (BibTeX or CFF)."""

from __future__ import annotations

import argparse

from ltoefg.cli.registry import command

FORMATS: tuple[str, ...] = ("bibtex", "cff")


@command
def _cite(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "cite", help="print how to cite ltoefg and the paper (BibTeX, or CITATION.cff)"
    )
    p.add_argument(
        "--format",
        dest="fmt",
        default="bibtex",
        choices=FORMATS,
        help="bibtex (default): entries of the package and the paper; cff: CITATION.cff",
    )
    p.set_defaults(handler=_run_cite)


def _run_cite(args: argparse.Namespace) -> int:
    from ltoefg import cite

    print(cite.bibtex() if args.fmt == "bibtex" else cite.cff(), end="")
    return 0
