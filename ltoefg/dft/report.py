"""Tables for docs/dft.md from committed per-structure DFT results.

:func:`pcm_vs_dft_table` compares, per nucleus (and per Wyckoff site for Li),
the point-charge labels of the data set with the DFT EFG of every labelled
structure; it also checks that ABINIT's own point-charge EFG (``ptcharge``,
formal charges) equals the package's Ewald EFG of the same structures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ltoefg import constants as C
from ltoefg.dft.compare import pcm_vs_dft
from ltoefg.dft.errors import DftError
from ltoefg.dft.results import check_matches, load_ok, result_efg

__all__ = ["cost_summary", "labelled_arrays", "pcm_vs_dft_table"]


def labelled_arrays(out: str | Path, protocol: str, dataset: str) -> dict[str, np.ndarray]:
    """Stack the ``ok`` results of a data set with its point-charge labels.

    Returns
    -------
    dict
        ``structure`` (S,), ``symbols`` (N,), ``wyckoff`` (N,), ``pcm`` (N, 3, 3)
        the data set's labels, ``dft`` (N, 3, 3), ``abinit_pc`` (N, 3, 3)
        ABINIT's point-charge EFG, ``ewald_pc`` (N, 3, 3) the package's Ewald
        EFG with the formal charges, all V/Å².
    """
    from ltoefg.data import load
    from ltoefg.data.pointcharge import ewald_efg, formal_charges

    results = load_ok(out, dataset, protocol)
    if not results:
        raise DftError(
            f"{Path(out) / protocol}: no finished {dataset} results; run `ltoefg dft run` first."
        )
    ds = load(dataset)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("symbols", "wyckoff", "pcm", "dft", "abinit_pc", "ewald_pc")
    }
    for sid, res in sorted(results.items()):
        atoms = ds.atoms(sid)
        check_matches(res, atoms)
        dft, apc = result_efg(res)
        parts["symbols"].append(np.asarray(atoms.get_chemical_symbols()))
        parts["wyckoff"].append(np.asarray(atoms.arrays["wyckoff"], str))
        parts["pcm"].append(atoms.arrays["efg"])
        parts["dft"].append(dft)
        parts["abinit_pc"].append(apc)
        parts["ewald_pc"].append(ewald_efg(atoms, formal_charges(atoms)))
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["structure"] = np.array(sorted(results), dtype=np.int64)
    return arrays


def _fmt(x: float | int | None, spec: str) -> str:
    return "–" if x is None else format(x, spec)


def pcm_vs_dft_table(out: str | Path, protocol: str, dataset: str = "pcm-v2") -> str:
    """Markdown: PCM labels vs DFT per nucleus over all labelled structures.

    Parameters
    ----------
    out : str or pathlib.Path
        Results folder (``<out>/<protocol>/<dataset>-s*.json``).
    protocol, dataset : str
        Names.
    """
    a = labelled_arrays(out, protocol, dataset)
    rows = []
    groups = [(n, a["symbols"] == n) for n in C.NUCLEI]
    groups[1:1] = [(f"Li {w}", (a["symbols"] == "Li") & (a["wyckoff"] == w)) for w in ("8a", "16d")]
    for label, m in groups:
        if not m.any():
            continue
        s = pcm_vs_dft(a["pcm"][m], a["dft"][m])
        rows.append(
            f"| {label} | {s['n']} | {_fmt(s['r_vzz'], '.2f')} | {_fmt(s['r_eta'], '.2f')} | "
            f"{s['median_angle_deg']:.1f} | {_fmt(s['slope'], '.2f')} | "
            f"{_fmt(s['r_tensor'], '.2f')} | {s['mean_abs_vzz_pcm']:.2f} | "
            f"{s['mean_abs_vzz_dft']:.2f} |"
        )
    dev = float(np.abs(a["abinit_pc"] - a["ewald_pc"]).max())
    head = (
        f"PCM labels of {dataset} vs DFT ({protocol}), {a['structure'].size} structures.\n\n"
        "| nucleus | sites | r(Vzz) | r(η) | median ∠(Vzz axes) ° | slope DFT/PCM Vzz | "
        "r(tensor) | mean abs(Vzz) PCM V/Å² | mean abs(Vzz) DFT V/Å² |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    foot = (
        "\nABINIT's point-charge EFG (ptcharge, formal charges) vs the package's Ewald EFG "
        f"of the same structures: largest difference {dev:.1e} V/Å² (ABINIT prints 6 "
        "decimals in atomic units, i.e. ±4.9e-5 V/Å²)."
    )
    return "\n".join([head, *rows, foot])


def cost_summary(results: list[dict]) -> str:
    """One line: what the ``ok`` results cost (SCF steps, wall and CPU time per structure).

    Parameters
    ----------
    results : list of dict
        Result dicts (only ``ok`` ones are counted).

    Returns
    -------
    str
        Counts, median and range of SCF steps and wall time (min), and the median
        of ABINIT's own ``cpu`` figure of the last attempt (h).
    """
    ok = [r for r in results if r.get("status") == "ok"]
    if not ok:
        return "no ok results yet"
    steps = np.array([r.get("scf_steps_total", 0) for r in ok], float)
    wall = np.array([r.get("wall_time_s_total", 0.0) for r in ok], float) / 60
    cpu = np.array([r.get("cpu_time_s") or 0.0 for r in ok], float) / 3600
    nproc = "/".join(sorted({str(r.get("run", {}).get("nproc")) for r in ok}))
    hosts = "; ".join(sorted({str(r.get("host", {}).get("cpu")) for r in ok}))
    return (
        f"{len(ok)} ok results: SCF steps median {np.median(steps):.0f} "
        f"(range {steps.min():.0f}–{steps.max():.0f}); wall time per structure median "
        f"{np.median(wall):.0f} min (range {wall.min():.0f}–{wall.max():.0f}) on "
        f"{nproc} MPI ranks; ABINIT's cpu time of the last attempt median "
        f"{np.median(cpu):.2f} h; CPU: {hosts}"
    )
