"""Data sub-commands of the CLI: ``fetch``, ``info``, ``generate``, ``build``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ltoefg import constants as C
from ltoefg.cli.registry import command


@command
def _fetch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="download (if needed) and verify data-set versions")
    p.add_argument(
        "version",
        nargs="?",
        default=C.DEFAULT_DATASET,
        help=f"version (default {C.DEFAULT_DATASET})",
    )
    p.add_argument(
        "--all", action="store_true", help="every registered version with a known address"
    )
    p.set_defaults(handler=_run_fetch)


def _run_fetch(args: argparse.Namespace) -> int:
    from ltoefg.data import registry
    from ltoefg.data.fetch import fetch

    names = (
        [n for n, v in registry.registry().items() if v.data is not None]
        if args.all
        else [args.version]
    )
    for name in names:
        print(f"{name}: {fetch(name, progress=True)}")
    return 0


@command
def _info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info", help="describe a data-set version (counts, labels, |Vzz| statistics)"
    )
    p.add_argument("version", nargs="?", default=C.DEFAULT_DATASET, help="version name or .h5 path")
    p.set_defaults(handler=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    from ltoefg import cite
    from ltoefg.data import load
    from ltoefg.data.fetch import sha256

    ds = load(args.version)
    print(f"data set      {ds.name}")
    print(f"file          {ds.path}")
    print(f"sha256        {sha256(ds.path)}")
    print(f"label method  {ds.label_method}")
    print(f"labels        {ds.label_description}")
    print(f"structures    {ds.n_structures}")
    print(f"sites         {ds.n_sites}")
    print(f"data licence  {cite.data_licence(ds.label_method)}; code {cite.CODE_LICENSE}")
    print(f"cite          the package and {cite.paper_short()}: `ltoefg cite` (BibTeX)")
    print("nucleus      sites    mu(|Vzz|)  sigma(|Vzz|)   [V/Å²]")
    for nucleus, n in ds.counts().items():
        mu, sigma = ds.stats(nucleus)
        print(f"{nucleus:<8} {n:>9}  {mu:>11.5f}  {sigma:>12.5f}")
    return 0


@command
def _generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="rebuild a point-charge release from scratch (structures + point-charge labels)",
    )
    p.add_argument("--out", required=True, type=Path, help="output .h5 file")
    p.add_argument(
        "--version",
        dest="pcm_version",
        default="pcm-v2",
        choices=("pcm-v2", "pcm-v1"),
        help="which release to rebuild (default pcm-v2)",
    )
    p.add_argument("--n-structures", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(handler=_run_generate)


def _run_generate(args: argparse.Namespace) -> int:
    from ltoefg.data.generate import generate_pcm

    path = generate_pcm(
        args.out, progress=True, n_structures=args.n_structures, name=args.pcm_version
    )
    print(f"wrote {path}")
    return 0


@command
def _build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help="import CASTEP .magres files into an ltoefg data-set file")
    p.add_argument("--magres", required=True, type=Path, help="folder with .magres files")
    p.add_argument("--out", required=True, type=Path, help="output .h5 file")
    p.add_argument("--name", default=None, help="version name stored in the file")
    p.set_defaults(handler=_run_build)


def _run_build(args: argparse.Namespace) -> int:
    from ltoefg.data.generate import build_from_magres

    path = build_from_magres(args.magres, args.out, args.name)
    print(f"wrote {path}")
    return 0
