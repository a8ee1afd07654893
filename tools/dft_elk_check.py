"""Elk checks with the package's back end: validation crystals, one LTO structure, ideal cells.

    python tools/dft_elk_check.py crystals [--scratch DIR] [--threads 2]
    python tools/dft_elk_check.py lto 0 [--kmesh 2 2 1] [--rgkmax 6] [--scratch DIR]
    python tools/dft_elk_check.py ideal 5 [--kmesh 1 1 1] [--scratch DIR]

``crystals`` runs rutile, stishovite and Li₃N with the validation protocol
(:data:`ltoefg.dft.protocol.VALIDATION`, the k-meshes of
``tests/test_dft_elk.py``) through :func:`ltoefg.dft.runner.run_structure` and
prints Vzz and η per site against experiment
(:data:`ltoefg.dft.validation.EXPERIMENT`). ``lto`` runs one pcm-v2 structure
with the production protocol (or a variant: ``--kmesh``, ``--rgkmax``,
``--broydpm``) and prints the PCM-vs-Elk statistics per nucleus, the gap and
the SCF cost. ``ideal`` does the same for the unrattled 42-atom cell of one
16d Li/Ti ordering. All runs resume from their folders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from ltoefg.dft import validation as V
from ltoefg.dft.compare import pcm_vs_dft
from ltoefg.dft.outputs import HARTREE_EV
from ltoefg.dft.protocol import PRODUCTION, VALIDATION, Protocol
from ltoefg.dft.runner import run_structure
from ltoefg.nmr import eta_from_eigenvalues, principal_axes

#: k-meshes of the validation crystals (as in tests/test_dft_elk.py).
KMESH = {"rutile": (4, 4, 6), "stishovite": (4, 4, 6), "li3n": (6, 6, 6)}


def crystals(args: argparse.Namespace) -> int:
    rows = [
        "| crystal | site | Elk Vzz V/Å² | η | experiment abs(Vzz) V/Å² | deviation |",
        "|---|---|---|---|---|---|",
    ]
    for ref in V.EXPERIMENT:
        atoms = getattr(V, ref.crystal)()
        p = VALIDATION.replace(f"{VALIDATION.name}-{ref.crystal}", ngridk=KMESH[ref.crystal])
        res = run_structure(atoms, p, args.scratch / ref.crystal, threads=args.threads)
        if res["status"] != "ok":
            print(f"{ref.crystal}: {res['status']}: {res.get('reason')}", file=sys.stderr)
            return 1
        pas = principal_axes(np.asarray(res["efg"])[ref.index : ref.index + 1])
        vzz, eta = pas.vzz[0], eta_from_eigenvalues(pas.eigenvalues)[0]
        dev = abs(vzz) / ref.abs_vzz - 1
        rows.append(
            f"| {ref.crystal} | {ref.site} | {vzz:+.2f} | {eta:.2f} | {ref.abs_vzz:.1f} "
            f"| {100 * dev:+.0f} % |"
        )
    print("\n".join(rows))
    return 0


def _variant(args: argparse.Namespace) -> Protocol:
    changes = {}
    if args.kmesh is not None:
        changes["ngridk"] = tuple(args.kmesh)
    if args.rgkmax is not None:
        changes["rgkmax"] = args.rgkmax
    if args.broydpm is not None:
        changes["broydpm"] = tuple(args.broydpm)
    if not changes:
        return PRODUCTION
    tag = "-".join(
        f"{k}{'x'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in changes.items()
    )
    return PRODUCTION.replace(f"{PRODUCTION.name}-{tag}", **changes)


def _report(atoms: Atoms, res: dict) -> None:
    if res["status"] != "ok":
        print(f"{res['status']}: {res.get('reason')}")
        return
    efg = np.asarray(res["efg"])
    symbols = np.array(atoms.get_chemical_symbols())
    print("| nucleus | sites | r(Vzz) PCM/Elk | slope | mean abs(Vzz) PCM | mean abs(Vzz) Elk |")
    print("|---|---|---|---|---|---|")
    for el in ("Li", "Ti", "O"):
        m = symbols == el
        s = pcm_vs_dft(atoms.arrays["efg"][m], efg[m]) if "efg" in atoms.arrays else None
        if s is None:
            continue
        print(
            f"| {el} | {s['n']} | {s['r_vzz']:.2f} | {s['slope']:.2f} | "
            f"{s['mean_abs_vzz_pcm']:.2f} | {s['mean_abs_vzz_dft']:.2f} |"
        )
    gap = (res["gap_ha"] or float("nan")) * HARTREE_EV
    print(
        f"\n{res['scf_iterations']} SCF iterations ({res['scf_end']}), final RMS change "
        f"{res['final_rms_dv']}, gap on the k-mesh {gap:.2f} eV, wall "
        f"{res['wall_time_s_total'] / 60:.1f} min on {res['threads']} threads"
    )


def lto(args: argparse.Namespace) -> int:
    import ltoefg

    atoms = ltoefg.load("pcm-v2").atoms(args.structure)
    p = _variant(args)
    res = run_structure(
        atoms, p, args.scratch / p.name / f"s{args.structure:06d}", threads=args.threads
    )
    _report(atoms, res)
    return 0


def ideal_cell(ordering: int) -> Atoms:
    """The unrattled 42-atom LTO cell of one 16d Li/Ti ordering (species sorted Li, Ti, O)."""
    from ltoefg.data import structures as S
    from ltoefg.data.pointcharge import ewald_efg, formal_charges

    parent = S.parent_cell()
    sites = np.flatnonzero(parent.arrays["wyckoff"] == "16d")
    symbols = np.array(parent.get_chemical_symbols(), dtype=object)
    chosen = S.enumerate_orderings(parent)[ordering]
    symbols[sites] = "Ti"
    symbols[sites[list(chosen.li_16d)]] = "Li"
    atoms = parent.copy()
    atoms.set_chemical_symbols(list(symbols))
    rank = {"Li": 0, "Ti": 1, "O": 2}
    order = np.argsort([rank[x] for x in atoms.get_chemical_symbols()], kind="stable")
    atoms = atoms[order]
    atoms.arrays["efg"] = ewald_efg(atoms, formal_charges(atoms))  # unscaled point charges
    return atoms


def ideal(args: argparse.Namespace) -> int:
    atoms = ideal_cell(args.ordering)
    p = _variant(args)
    res = run_structure(
        atoms, p, args.scratch / p.name / f"ideal-ordering{args.ordering}", threads=args.threads
    )
    _report(atoms, res)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    scratch = Path("/work/dft-scratch/elk-check")
    c = sub.add_parser("crystals")
    c.set_defaults(run=crystals)
    s = sub.add_parser("lto")
    s.add_argument("structure", type=int)
    s.set_defaults(run=lto)
    i = sub.add_parser("ideal")
    i.add_argument("ordering", type=int)
    i.set_defaults(run=ideal)
    for q in (c, s, i):
        q.add_argument("--scratch", type=Path, default=scratch)
        q.add_argument("--threads", type=int, default=2)
    for q in (s, i):
        q.add_argument("--kmesh", type=int, nargs=3, default=None)
        q.add_argument("--rgkmax", type=float, default=None, help="Elk's R_MT·max|G+k|")
        q.add_argument("--broydpm", type=float, nargs=2, default=None, help="Broyden α, w0")
    args = p.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
