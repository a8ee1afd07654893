"""DFT sub-commands of the CLI: ``ltoefg dft run|status|protocol|input|compare``.

``ltoefg dft run`` labels structures of a registered data set with Elk
(all-electron FP-LAPW, PBE EFG) through Dask; see :mod:`ltoefg.dft.distribute`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ltoefg.cli.registry import command

_DEFAULT_OUT = Path("dft-results")


def _add_common(p: argparse.ArgumentParser) -> None:
    from ltoefg.dft.protocol import PRODUCTION

    p.add_argument("--dataset", default="pcm-v2", help="registered data set (default pcm-v2)")
    p.add_argument(
        "--protocol",
        default=PRODUCTION.name,
        help=f"DFT protocol name (default {PRODUCTION.name})",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=_DEFAULT_OUT,
        help="results folder (default ./dft-results); results go to OUT/PROTOCOL/",
    )


def _add_ids(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--ids", help="structure ids, e.g. 0,5,10-19")
    g.add_argument(
        "--selection",
        choices=("dft-pbe-v1",),
        help="a frozen selection of pcm-v2 structures (dft-pbe-v1: 48, 8 per ordering)",
    )


@command
def _dft(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dft", help="DFT (Elk all-electron PBE) EFG labels: run, status, protocol")
    dsub = p.add_subparsers(dest="dft_command", metavar="DFT_COMMAND")
    p.set_defaults(handler=lambda args: (p.print_help(), 0)[1])

    r = dsub.add_parser(
        "run", help="label structures with Elk through Dask (resumes where it stopped)"
    )
    _add_common(r)
    _add_ids(r)
    r.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="folder of the per-structure Elk runs (default: OS cache/ltoefg/dft-runs)",
    )
    r.add_argument(
        "--threads", type=int, default=2, help="OpenMP threads of Elk per structure (default 2)"
    )
    r.add_argument("--workers", type=int, default=1, help="LocalCluster workers (default 1)")
    r.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    r.add_argument(
        "--timeout", type=float, default=6 * 3600, help="seconds per structure (default 6 h)"
    )
    r.add_argument(
        "--retry-failed",
        action="store_true",
        help="run unconverged and failed structures again (they resume from STATE.OUT)",
    )
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(handler=_run_dft_run)

    s = dsub.add_parser("status", help="how many structures are labelled, failed, pending")
    _add_common(s)
    _add_ids(s)
    s.set_defaults(handler=_run_dft_status)

    pr = dsub.add_parser("protocol", help="print a DFT protocol's settings (JSON)")
    pr.add_argument("name", nargs="?", default=None, help="protocol name (default production)")
    pr.set_defaults(handler=_run_dft_protocol)

    i = dsub.add_parser("input", help="print the elk.in of one structure")
    i.add_argument("--dataset", default="pcm-v2")
    i.add_argument("--structure", type=int, required=True)
    i.add_argument("--protocol", default=None)
    i.set_defaults(handler=_run_dft_input)

    c = dsub.add_parser(
        "compare", help="PCM (point-charge labels) vs DFT per nucleus over all labelled structures"
    )
    _add_common(c)
    c.set_defaults(handler=_run_dft_compare)


def _ids(args: argparse.Namespace, n_structures: int) -> list[int]:
    from ltoefg.dft.errors import DftInputError
    from ltoefg.dft.selection import DFT_PBE_V1_IDS, parse_ids

    if args.selection is not None:
        if args.dataset != "pcm-v2":
            raise DftInputError(
                f"the selection {args.selection} is of pcm-v2 structures, not {args.dataset}."
            )
        return list(DFT_PBE_V1_IDS)
    return parse_ids(args.ids, n_structures)


def _run_dft_run(args: argparse.Namespace) -> int:
    from ltoefg.data import load
    from ltoefg.dft.distribute import label_structures
    from ltoefg.dft.errors import DftInterruptedError
    from ltoefg.dft.protocol import get_protocol

    protocol = get_protocol(args.protocol)
    ds = load(args.dataset)
    ids = _ids(args, ds.n_structures)
    structures = {i: ds.atoms(i) for i in ids}
    try:
        summary = label_structures(
            structures,
            args.dataset,
            protocol,
            args.out,
            scratch=args.scratch,
            threads=args.threads,
            timeout=args.timeout,
            scheduler=args.scheduler,
            n_workers=args.workers,
            retry_failed=args.retry_failed,
            progress=not args.no_progress,
        )
    except DftInterruptedError as exc:
        print(f"ltoefg: {exc}", file=sys.stderr)
        return 130
    print(
        f"{protocol.name} on {args.dataset}: {len(summary['ok'])} new ok, "
        f"{len(summary['unconverged'])} new unconverged, {len(summary['failed'])} new failed, "
        f"{len(summary['skipped'])} already done; "
        f"results in {args.out / protocol.name}"
    )
    return 0 if not (summary["failed"] or summary["unconverged"]) else 1


def _run_dft_status(args: argparse.Namespace) -> int:
    from ltoefg.data import registry
    from ltoefg.dft.distribute import result_path
    from ltoefg.dft.results import read_result

    n = registry.get(args.dataset).n_structures
    ids = _ids(args, n)
    ok, failed, unconverged, pending = [], [], [], []
    for sid in ids:
        path = result_path(args.out, args.protocol, args.dataset, sid)
        if not path.is_file():
            pending.append(sid)
            continue
        res = read_result(path)
        bucket = {"ok": ok, "unconverged": unconverged}.get(res["status"], failed)
        bucket.append((sid, res.get("reason", "")))
    print(
        f"{args.protocol} on {args.dataset}: {len(ok)} ok, {len(unconverged)} unconverged, "
        f"{len(failed)} failed, {len(pending)} pending (of {len(ids)})"
    )
    for sid, reason in unconverged:
        print(f"  unconverged {sid}: {reason}")
    for sid, reason in failed:
        print(f"  failed {sid}: {reason}")
    if ok:
        from ltoefg.dft.report import cost_summary

        done = [
            read_result(result_path(args.out, args.protocol, args.dataset, sid)) for sid, _ in ok
        ]
        print(cost_summary(done))
    return 0


def _run_dft_protocol(args: argparse.Namespace) -> int:
    from ltoefg.dft.protocol import PRODUCTION, get_protocol

    p = PRODUCTION if args.name is None else get_protocol(args.name)
    print(json.dumps(p.to_dict(), indent=2))
    return 0


def _run_dft_input(args: argparse.Namespace) -> int:
    from ltoefg.data import load
    from ltoefg.dft.inputs import write_elk_in
    from ltoefg.dft.protocol import PRODUCTION, get_protocol

    p = PRODUCTION if args.protocol is None else get_protocol(args.protocol)
    ds = load(args.dataset)
    from ltoefg.dft.selection import parse_ids

    (sid,) = parse_ids(str(args.structure), ds.n_structures)
    title = f"{args.dataset} structure {sid}"
    print(write_elk_in(ds.atoms(sid), p, title=title), end="")
    return 0


def _run_dft_compare(args: argparse.Namespace) -> int:
    from ltoefg.dft.report import pcm_vs_dft_table

    print(pcm_vs_dft_table(args.out, args.protocol, args.dataset))
    return 0
