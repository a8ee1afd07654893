"""Convergence study of the Elk protocol on pcm-v2 structures (maintainer tool).

    python tools/dft_elk_study.py run tight-k331 103 --warm-start RUNFOLDER
    python tools/dft_elk_study.py table tight-k331 elk-pbe-v1 tight-k221
    python tools/dft_elk_study.py trace RUN_FOLDER/run-state.json

``run`` computes one structure with one named variant of the production
protocol (:data:`VARIANTS`) through the package's runner
(:func:`ltoefg.dft.runner.run_structure`) and writes its result to
``dft-results/convergence/elk/<variant>/pcm-v2-sNNNNNN.json``. ``table``
compares the results of other variants (or of the production protocol,
``dft-results/elk-pbe-v1``) with a reference variant, structure by structure,
per nucleus. ``trace`` reads the runner's per-iteration EFG history
(``run-state.json`` of a run folder) and prints, for every iteration, the error
of the EFG at that iteration against the last one.

The label error of a variant is measured in the unit that a model's C̃Q error
has: ``MAE(abs(ΔVzz)) / σ``, σ the population standard deviation of abs(Vzz)
of that nucleus over all sites of the reference results in the table (so the
number adds directly to a model's C̃Q MAE). The largest element error
``max abs(ΔV_ij) / σ`` is printed beside it. The protocol rule is: every nucleus
≤ 0.02 (2 % of σ).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ltoefg.dft.protocol import PRODUCTION, EfgStop, Protocol, register_protocol

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "dft-results" / "convergence" / "elk"
DATASET = "pcm-v2"
NUCLEI = ("Li", "Ti", "O")

#: A tight EFG stop for references: a tenth of the production tolerances (V/Å²).
TIGHT = EfgStop(window=3, tolerance={"Li": 0.0005, "Ti": 0.01, "O": 0.01}, consecutive=2)


def _variant(name: str, **changes: object) -> Protocol:
    return PRODUCTION.replace(
        name=f"elk-study-{name}",
        description=f"convergence study of elk-pbe-v1: {name}",
        **changes,
    )


#: The variants of the study, by short name.
VARIANTS: dict[str, Protocol] = {
    p.name.removeprefix("elk-study-"): p
    for p in (
        _variant("tight-k221", efg_stop=TIGHT, maxscl=120),
        _variant("tight-k331", ngridk=(3, 3, 1), efg_stop=TIGHT, maxscl=120),
        _variant("tight-r7-k331", rgkmax=7.0, ngridk=(3, 3, 1), efg_stop=TIGHT, maxscl=120),
        _variant("r55", rgkmax=5.5),
        _variant("nempty1", nempty=1.0),
        _variant("r55-nempty1", rgkmax=5.5, nempty=1.0),
    )
}


def run(args: argparse.Namespace) -> int:
    import ltoefg
    from ltoefg.dft.distribute import result_path
    from ltoefg.dft.results import write_json_atomic
    from ltoefg.dft.runner import run_structure

    protocol = VARIANTS[args.variant]
    register_protocol(protocol)
    atoms = ltoefg.load(DATASET).atoms(args.structure)
    folder = args.scratch / protocol.name / f"s{args.structure:06d}"
    res = run_structure(
        atoms,
        protocol,
        folder,
        threads=args.threads,
        timeout=args.timeout,
        key={"dataset": DATASET, "structure": args.structure},
        warm_start=args.warm_start,
    )
    path = result_path(OUT, protocol.name, DATASET, args.structure)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, res)
    print(f"{path}: {res['status']} {res.get('reason', '')}")
    print(
        f"SCF iterations {res.get('scf_iterations')}, wall {res.get('wall_time_s_total')} s, "
        f"gap {res.get('gap_ha')} Ha"
    )
    return 0 if res["status"] == "ok" else 1


def _vzz(efg: NDArray) -> NDArray:
    w = np.linalg.eigvalsh(efg)
    return np.take_along_axis(w, np.abs(w).argmax(axis=-1)[..., None], axis=-1)[..., 0]


def _load(folder: Path) -> dict[int, dict]:
    out = {}
    for p in sorted(folder.glob(f"{DATASET}-s*.json")):
        res = json.loads(p.read_text())
        if res.get("status") == "ok":
            out[int(res["key"]["structure"])] = res
    return out


def _folder(name: str) -> Path:
    if name == PRODUCTION.name:
        return REPO / "dft-results" / PRODUCTION.name
    return OUT / VARIANTS[name].name


def errors(
    ref: NDArray, other: NDArray, symbols: NDArray, sigma: dict[str, float]
) -> dict[str, tuple[float, float]]:
    """Per nucleus: (MAE of abs(Vzz), largest abs(ΔV_ij)), both in units of σ."""
    out = {}
    for el in NUCLEI:
        m = symbols == el
        d_vzz = np.abs(np.abs(_vzz(other[m])) - np.abs(_vzz(ref[m])))
        d_el = np.abs(other[m] - ref[m]).max()
        out[el] = (float(d_vzz.mean() / sigma[el]), float(d_el / sigma[el]))
    return out


def _header(title: str, sigma: dict[str, float], first: list[str]) -> None:
    """Print the title with σ per nucleus, then a Markdown table head with error columns."""
    print(f"{title}; σ(abs Vzz) V/Å² " + ", ".join(f"{el} {sigma[el]:.3f}" for el in NUCLEI))
    errs = [f"{el} MAE abs(Vzz)/σ | {el} max abs(ΔV)/σ" for el in NUCLEI]
    print("| " + " | ".join(first + errs) + " |")
    print("|" + "---|" * (len(first) + 2 * len(NUCLEI)))


def table(args: argparse.Namespace) -> int:
    ref = _load(_folder(args.reference))
    if not ref:
        print(f"no ok results of {args.reference} yet")
        return 1
    symbols = {s: np.array(r["structure"]["symbols"]) for s, r in ref.items()}
    pooled = {
        el: np.concatenate(
            [np.abs(_vzz(np.array(r["efg"])[symbols[s] == el])) for s, r in ref.items()]
        )
        for el in NUCLEI
    }
    sigma = {el: float(v.std()) for el, v in pooled.items()}
    _header(
        f"reference {args.reference}: structures {sorted(ref)}",
        sigma,
        ["variant", "structure", "iterations", "wall min"],
    )
    for name in args.variants:
        for sid, res in sorted(_load(_folder(name)).items()):
            if sid not in ref:
                continue
            e = errors(np.array(ref[sid]["efg"]), np.array(res["efg"]), symbols[sid], sigma)
            wall = res.get("wall_time_s_total")
            cells = " | ".join(f"{e[el][0]:.4f} | {e[el][1]:.3f}" for el in NUCLEI)
            print(
                f"| {name} | {sid} | {res.get('scf_iterations')} | "
                f"{'' if wall is None else f'{wall / 60:.1f}'} | {cells} |"
            )
    return 0


def trace(args: argparse.Namespace) -> int:
    state = json.loads(Path(args.state).read_text())
    history = state["history"]
    symbols = np.array(args.symbols.split(",")) if args.symbols else None
    if symbols is None:
        import ltoefg

        sid = int(state.get("key", {}).get("structure", args.structure))
        symbols = np.array(ltoefg.load(DATASET).atoms(sid).get_chemical_symbols())
    final = np.array(history[-1]["efg"])
    sigma = {el: float(np.abs(_vzz(final[symbols == el])).std()) for el in NUCLEI}
    _header(
        f"last iteration {history[-1]['iteration']} (σ of this structure)",
        sigma,
        ["iteration", "RMS Δpotential"],
    )
    for point in history[:-1]:
        if point["iteration"] % args.every:
            continue
        e = errors(final, np.array(point["efg"]), symbols, sigma)
        rms = point.get("rms_dv")
        cells = " | ".join(f"{e[el][0]:.4f} | {e[el][1]:.3f}" for el in NUCLEI)
        print(f"| {point['iteration']} | {'' if rms is None else f'{rms:.1e}'} | {cells} |")
    for spec in args.stop:
        replay_stop(history, spec, symbols, final, sigma, args.lag)
    return 0


def replay_stop(
    history: list[dict],
    spec: str,
    symbols: NDArray,
    final: NDArray,
    sigma: dict[str, float],
    lag: int,
) -> None:
    """Where an EFG stop ``window,Li,Ti,O[,consecutive]`` (V/Å²) triggers on a recorded
    history, through :func:`ltoefg.dft.efgstop.criterion_met`, and the label error of
    the state ``lag`` iterations later (Elk ends one or two iterations after STOP)."""
    from ltoefg.dft.efgstop import EfgPoint, criterion_met

    parts = [float(x) for x in spec.split(",")]
    stop = EfgStop(
        window=int(parts[0]),
        tolerance=dict(zip(NUCLEI, parts[1:4], strict=True)),
        consecutive=int(parts[4]) if len(parts) > 4 else 2,
    )
    points = [EfgPoint(p["iteration"], np.array(p["efg"]), p.get("rms_dv")) for p in history]
    for k in range(1, len(points) + 1):
        if criterion_met(points[:k], stop, list(symbols)):
            end = min(k - 1 + lag, len(points) - 1)
            e = errors(final, points[end].efg, symbols, sigma)
            cells = ", ".join(f"{el} {e[el][0]:.4f} / {e[el][1]:.3f}" for el in NUCLEI)
            print(
                f"stop {spec}: triggers at iteration {points[k - 1].iteration}, ends at "
                f"{points[end].iteration}; MAE abs(Vzz)/σ / max abs(ΔV)/σ: {cells}"
            )
            return
    print(f"stop {spec}: never triggers in {len(points)} iterations")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    r = sub.add_parser("run", help="one variant on one structure")
    r.add_argument("variant", choices=sorted(VARIANTS))
    r.add_argument("structure", type=int)
    r.add_argument("--warm-start", type=Path, default=None, help="a converged run folder")
    r.add_argument("--scratch", type=Path, default=Path("/work/dft-scratch/study"))
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--timeout", type=float, default=4 * 3600)
    r.set_defaults(run=run)
    t = sub.add_parser("table", help="label errors of variants against a reference")
    t.add_argument("reference", help="a variant name or elk-pbe-v1")
    t.add_argument("variants", nargs="+")
    t.set_defaults(run=table)
    c = sub.add_parser("trace", help="EFG error against the last iteration, per iteration")
    c.add_argument("state", help="run-state.json of a run folder")
    c.add_argument("--structure", type=int, default=None)
    c.add_argument("--symbols", default=None, help="comma-separated, ase order")
    c.add_argument("--every", type=int, default=1)
    c.add_argument(
        "--stop",
        action="append",
        default=[],
        help="replay an EFG stop: window,Li,Ti,O[,consecutive] (V/Å²); repeatable",
    )
    c.add_argument("--lag", type=int, default=2, help="iterations Elk runs after STOP")
    c.set_defaults(run=trace)
    args = p.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
