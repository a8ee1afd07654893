"""All-electron cross-check of the ABINIT PAW EFGs with Elk (FP-LAPW, Debian ``elk-lapw``).

    python tools/dft_elk_check.py crystals [--scratch DIR]   # rutile, stishovite, Li2O, Li3N
    python tools/dft_elk_check.py lto 0 --kmesh 2 2 1 [--scratch DIR]
    python tools/dft_elk_check.py ideal 5 [--scratch DIR]          # unrattled LTO ordering 5, Γ

``crystals`` runs rutile TiO₂ (a 4.594, c 2.959 Å, u 0.3048) and stishovite
SiO₂ (a 4.1790, c 2.6649 Å, u 0.3062, the ABINIT EFG tutorial's cell) with
ABINIT (the production datasets and settings; stishovite with PseudoDojo's
JTH Si.xml) and antifluorite Li₂O with one Li moved off its cubic site, with
ABINIT and with Elk (PBE, Elk's default species and rgkmax 7), and prints
a table of Vzz and η per site type. ``lto`` runs Elk on one pcm-v2 structure
at a given k-mesh and compares it with the committed ABINIT result of the same
structure and mesh (``dft-results/convergence/conv-e15-k<mesh>``). ``ideal``
runs both codes on the unrattled 42-atom cell of one 16d Li/Ti ordering
(ordering 5 has a 0.73 eV PBE gap, so both SCFs converge quickly) at Γ, with
the production settings otherwise, and compares them site by site.

Elk's ``EFG.OUT`` has the opposite sign convention (Elk treats electrons as
positive charge); its tensors are multiplied by −1 here. That this is a
convention and not physics is checked on stishovite, where ABINIT and Elk then
agree to 10 % element by element. Units: atomic units (Ha/(e·bohr²)) in the
files, V/Å² in the tables (1 a.u. = 97.1736 V/Å²).

Timing (2 cores): rutile and stishovite ≈ 3 min each per code; one 42-atom
LTO structure with Elk at 2×2×1 ≈ 2 min per SCF iteration.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write
from ase.spacegroup import crystal
from numpy.typing import NDArray

from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.dft.inputs import write_input
from ltoefg.dft.outputs import read_output
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.nmr import eta_from_eigenvalues, principal_axes

ELK_SPECIES = "/usr/share/elk-lapw/species/"
PSP = "/usr/share/abinit/psp"
REPO = Path(__file__).resolve().parents[1]


def rutile() -> Atoms:
    a, c, u = 4.594, 2.959, 0.3048
    return crystal(
        ["Ti", "O"], [(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
    )


def stishovite() -> Atoms:
    a, c, u = 4.1790, 2.6649, 0.3062
    return crystal(
        ["Si", "O"], [(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
    )


def li3n() -> Atoms:
    """Li₃N, P6/mmm, a 3.648, c 3.875 Å: Li(1b) at (0, 0, ½), Li(2c), N(1a); a Li EFG with
    published experimental values and no Ti."""
    a, c = 3.648, 3.875
    cell = [[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    frac = [[0, 0, 0.5], [1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0], [0, 0, 0]]
    return Atoms("Li3N", cell=cell, scaled_positions=frac, pbc=True)


def elk_input(atoms: Atoms, kmesh: tuple[int, int, int], folder: Path, extra: str = "") -> Path:
    """Write ``elk.in`` (ground state + EFG, PBE, Gaussian smearing 0.005 Ha) into ``folder``.

    ``lmaxi 2``: Elk's EFG task needs the l = 2 part of the inner muffin-tin
    density, which Elk's default (lmaxi 1) drops. ``nwrite 1``: STATE.OUT after
    every SCF iteration, so a stopped run resumes (:func:`run_elk`). ``extra``:
    more ``elk.in`` blocks, e.g. ``"rgkmax\\n  6.0\\n\\n"``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    geom = folder / "geom.in"
    bare = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    write(geom, bare, format="elk-in")
    head = (
        "tasks\n  0\n  115\n\nxctype\n  20\n\nlmaxi\n  2\n\n"
        f"ngridk\n  {kmesh[0]}  {kmesh[1]}  {kmesh[2]}\n\n"
        "stype\n  0\n\nswidth\n  0.005\n\nmaxscl\n  200\n\nnwrite\n  1\n\n"
        + extra
        + f"sppath\n '{ELK_SPECIES}'\n\n"
    )
    path = folder / "elk.in"
    path.write_text(head + geom.read_text())
    return path


def elk_order(atoms: Atoms) -> NDArray[np.int64]:
    """Atom indices in the order ase's elk-in writer lists them (species by first appearance)."""
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    return np.array([i for s in species for i, t in enumerate(symbols) if t == s], dtype=np.int64)


def read_elk_efg(folder: Path, atoms: Atoms) -> NDArray[np.float64]:
    """EFG tensors (V/Å², physical sign, ase atom order) from Elk's ``EFG.OUT``."""
    text = (folder / "EFG.OUT").read_text()
    blocks = re.findall(r"EFG tensor :\s*\n((?:\s*\S+\s+\S+\s+\S+\s*\n){3})", text)
    if len(blocks) != len(atoms):
        raise SystemExit(f"{folder / 'EFG.OUT'}: {len(blocks)} tensors for {len(atoms)} atoms")
    tensors = np.array([np.array(b.split(), dtype=float).reshape(3, 3) for b in blocks])
    out = np.empty_like(tensors)
    out[elk_order(atoms)] = tensors
    return -EFG_AU_IN_V_PER_A2 * out


def run_elk(folder: Path, threads: int) -> None:
    if (folder / "EFG.OUT").is_file():
        return
    if (folder / "STATE.OUT").is_file():  # resume a finished or stopped ground state
        text = (folder / "elk.in").read_text()
        (folder / "elk.in").write_text(text.replace("tasks\n  0\n", "tasks\n  1\n", 1))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    with open(folder / "elk.log", "w") as log:
        subprocess.run(["elk-lapw"], cwd=folder, env=env, stdout=log, stderr=log, check=True)


STISHOVITE_ABINIT = """# stishovite, the ABINIT EFG tutorial's cell, PseudoDojo JTH PBE datasets
pp_dirpath "{psp}"
pseudos "Pseudodojo_paw_pbe_standard/Si.xml, Pseudodojo_paw_pbe_standard/O.xml"
prtefg 2  quadmom 0.0 -0.02558
ecut 15  pawecutdg 30  nstep 50  tolvrs 1.0d-12  ngkpt 8 8 6
prtden 0  prtwf 0  prteig 0
spgroup 136  acell 4.1790 4.1790 2.6649 angstrom
znucl 14 8  natom 6  natrd 2  ntypat 2  typat 1 2
xred 0 0 0  0.3062 0.3062 0
"""


def li2o_distorted() -> Atoms:
    """Antifluorite Li2O (a 4.61 Å, primitive cell) with one Li moved by (0.06, −0.04, 0.02) Å:
    no Ti, so it separates the Li dataset from the Ti–O question."""
    a = 4.61
    cell = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    atoms = Atoms("OLi2", cell=cell, scaled_positions=[[0, 0, 0], [0.25] * 3, [0.75] * 3], pbc=True)
    atoms.positions[1] += [0.06, -0.04, 0.02]
    return atoms


LI3N_ABINIT = """# Li3N with the protocol's Li dataset and PseudoDojo JTH PBE N
pp_dirpath "{psp}"
pseudos "li.PBE.atompaw.paw, Pseudodojo_paw_pbe_standard/N.xml"
ixc 11  usexcnhat 0
prtefg 2  quadmom -0.0401 0.02044
ecut 20  pawecutdg 40  nstep 60  tolvrs 1.0d-10  ngkpt 8 8 8  nshiftk 1  shiftk 0 0 0
occopt 7  tsmear 0.005
prtden 0  prtwf 0  prteig 0
acell 3.648 3.648 3.875 angstrom  angdeg 90 90 120
znucl 3 7  natom 4  ntypat 2  typat 1 1 1 2
xred 0 0 0.5  0.333333333333 0.666666666667 0  0.666666666667 0.333333333333 0  0 0 0
"""


def abinit_efg(
    atoms: Atoms, folder: Path, kmesh: tuple[int, int, int] = (4, 4, 6)
) -> tuple[list[str], NDArray]:
    """Species and EFG (V/Å²) of every atom from ABINIT, in ABINIT's atom order: the
    production settings for rutile, the ABINIT tutorial's stishovite input at 15 Ha."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "run.abo"
    stishovite = "Si" in atoms.get_chemical_symbols()
    if not out.is_file():
        if stishovite:
            text = STISHOVITE_ABINIT.format(psp=PSP)
        elif "N" in atoms.get_chemical_symbols():
            text = LI3N_ABINIT.format(psp=PSP)
        else:
            protocol = PRODUCTION.replace(name="elk-check", kmesh=kmesh, use_symmetry=False)
            text = write_input(atoms, protocol, PSP, title="elk cross-check")
        (folder / "run.abi").write_text(text)
        with open(folder / "run.log", "w") as log:
            subprocess.run(["abinit", "run.abi"], cwd=folder, stdout=log, stderr=log, check=True)
    res = read_output(out)
    if stishovite:  # natrd: ABINIT generates the atoms; its typat says which is which
        return [("Si", "O")[t - 1] for t in res.typat], res.efg
    return atoms.get_chemical_symbols(), res.efg


def site_table(name: str, efg: dict[str, tuple[list[str], NDArray]]) -> list[str]:
    """One row per site type: Vzz and η of its first site in each code (rutile, stishovite:
    all sites of a species are equivalent; Li₂O: the moved Li; Li₃N: Li(1b), Li(2c))."""
    rows = []
    first = next(iter(efg.values()))[0]
    sites = list(dict.fromkeys(first))
    if first.count("Li") == 3:  # Li3N: Li(1b) and Li(2c) differ
        sites = [("Li", 0, "Li(1b)"), ("Li", 1, "Li(2c)"), ("N", 0, "N")]
    else:
        sites = [(el, 0, el) for el in sites]
    for el, k, label in sites:
        cells = []
        for symbols, tensors in efg.values():
            i = [j for j, x in enumerate(symbols) if x == el][k]
            pas = principal_axes(tensors[i : i + 1])
            eta = eta_from_eigenvalues(pas.eigenvalues)[0]
            cells.append(f"{pas.vzz[0]:+.2f} / {eta:.3f}")
        rows.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return rows


def crystals(args: argparse.Namespace) -> int:
    rows = [
        "| crystal | site | ABINIT Vzz V/Å² / η | Elk Vzz V/Å² / η |",
        "|---|---|---|---|",
    ]
    cases = (
        ("rutile", rutile(), (4, 4, 6)),
        ("stishovite", stishovite(), (8, 8, 6)),
        ("Li2O, one Li moved", li2o_distorted(), (4, 4, 4)),
        ("Li3N", li3n(), (8, 8, 8)),
    )
    for name, atoms, kmesh in cases:
        ab = abinit_efg(atoms, args.scratch / name.split(",")[0] / "abinit", kmesh)
        folder = args.scratch / name.split(",")[0] / "elk"
        elk_input(atoms, kmesh, folder)
        run_elk(folder, args.threads)
        elk = (atoms.get_chemical_symbols(), read_elk_efg(folder, atoms))
        rows += site_table(name, {"abinit": ab, "elk": elk})
    print("\n".join(rows))
    return 0


def lto(args: argparse.Namespace) -> int:
    import ltoefg
    from ltoefg.dft.results import read_result, result_efg

    atoms = ltoefg.load("pcm-v2").atoms(args.structure)
    mesh = "".join(str(k) for k in args.kmesh)
    folder = args.scratch / f"lto-s{args.structure:06d}-k{mesh}-r{args.rgkmax:g}"
    extra = f"rgkmax\n  {args.rgkmax}\n\n"
    if args.broydpm is not None:
        extra += f"broydpm\n  {args.broydpm[0]}  {args.broydpm[1]}\n\n"
    elk_input(atoms, tuple(args.kmesh), folder, extra)
    run_elk(folder, args.threads)
    elk = read_elk_efg(folder, atoms)
    res = REPO / f"dft-results/convergence/conv-e15-k{mesh}/pcm-v2-s{args.structure:06d}.json"
    abinit = result_efg(read_result(res))[0]
    print("\n".join(compare_table(atoms, abinit, elk)))
    return 0


def ideal_cell(ordering: int) -> Atoms:
    """The unrattled 42-atom LTO cell of one 16d Li/Ti ordering (species sorted Li, Ti, O)."""
    from ltoefg.data import structures as S

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
    return atoms[order]


def compare_table(atoms: Atoms, abinit: NDArray, elk: NDArray) -> list[str]:
    """Per nucleus: r(Vzz), slope, median axis angle, relative Frobenius difference."""
    from ltoefg.dft.compare import tensor_change, vzz_axis_angle_deg

    symbols = np.array(atoms.get_chemical_symbols())
    rows = [
        "| nucleus | sites | r(Vzz) | slope ABINIT/Elk | median ∠ Vzz axes ° "
        "| ‖ΔV‖/‖V_Elk‖ | mean abs(Vzz) ABINIT | mean abs(Vzz) Elk |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for el in ("Li", "Ti", "O"):
        m = symbols == el
        va = principal_axes(abinit[m]).vzz
        ve = principal_axes(elk[m]).vzz
        slope = float(np.dot(va, ve) / np.dot(ve, ve))
        angle = float(np.median(vzz_axis_angle_deg(abinit[m], elk[m])))
        rel = tensor_change(abinit[m], elk[m])["rel_change"]
        r = np.corrcoef(va, ve)[0, 1] if np.ptp(ve) > 0 else float("nan")
        rows.append(
            f"| {el} | {int(m.sum())} | {r:.3f} | {slope:.3f} | {angle:.1f} | {rel:.3f} "
            f"| {np.abs(va).mean():.2f} | {np.abs(ve).mean():.2f} |"
        )
    return rows


def ideal(args: argparse.Namespace) -> int:
    atoms = ideal_cell(args.ordering)
    root = args.scratch / f"ideal-ordering{args.ordering}"
    folder = root / "abinit"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "run.abo").is_file():
        protocol = PRODUCTION.replace(name="elk-check-ideal", kmesh=(1, 1, 1))
        (folder / "run.abi").write_text(write_input(atoms, protocol, PSP, title="elk check"))
        with open(folder / "run.log", "w") as log:
            cmd = ["mpirun", "--allow-run-as-root", "-np", str(args.threads), "--bind-to", "none"]
            subprocess.run(
                [*cmd, "abinit", "run.abi"], cwd=folder, stdout=log, stderr=log, check=True
            )
    abinit = read_output(folder / "run.abo").efg
    elk_input(atoms, (1, 1, 1), root / "elk")
    run_elk(root / "elk", args.threads)
    print("\n".join(compare_table(atoms, abinit, read_elk_efg(root / "elk", atoms))))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("crystals")
    c.add_argument("--scratch", type=Path, default=Path("/work/dft-scratch/elk-check"))
    c.add_argument("--threads", type=int, default=2)
    c.set_defaults(run=crystals)
    s = sub.add_parser("lto")
    s.add_argument("structure", type=int)
    s.add_argument("--kmesh", type=int, nargs=3, default=[2, 2, 1])
    s.add_argument("--rgkmax", type=float, default=7.0, help="Elk's R_MT·max|G+k|")
    s.add_argument(
        "--broydpm", type=float, nargs=2, default=None, help="Elk's Broyden mixing parameters"
    )
    s.add_argument("--scratch", type=Path, default=Path("/work/dft-scratch/elk-check"))
    s.add_argument("--threads", type=int, default=2)
    s.set_defaults(run=lto)
    i = sub.add_parser("ideal")
    i.add_argument("ordering", type=int)
    i.add_argument("--scratch", type=Path, default=Path("/work/dft-scratch/elk-check"))
    i.add_argument("--threads", type=int, default=2)
    i.set_defaults(run=ideal)
    args = p.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
