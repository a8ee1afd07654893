"""Tables for docs/dft.md from committed per-structure DFT results.

:func:`pcm_vs_dft_table` compares, per nucleus (and per Wyckoff site for Li),
the point-charge labels of the data set with the DFT EFG of every labelled
structure.
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
        the data set's labels, ``dft`` (N, 3, 3), all V/Å².
    """
    from ltoefg.data import load

    results = load_ok(out, dataset, protocol)
    if not results:
        raise DftError(
            f"{Path(out) / protocol}: no finished {dataset} results; run `ltoefg dft run` first."
        )
    ds = load(dataset)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("symbols", "wyckoff", "pcm", "dft")}
    for sid, res in sorted(results.items()):
        atoms = ds.atoms(sid)
        check_matches(res, atoms)
        dft = result_efg(res)
        parts["symbols"].append(np.asarray(atoms.get_chemical_symbols()))
        parts["wyckoff"].append(np.asarray(atoms.arrays["wyckoff"], str))
        parts["pcm"].append(atoms.arrays["efg"])
        parts["dft"].append(dft)
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
    head = (
        f"PCM labels of {dataset} vs DFT ({protocol}), {a['structure'].size} structures.\n\n"
        "| nucleus | sites | r(Vzz) | r(η) | median ∠(Vzz axes) ° | slope DFT/PCM Vzz | "
        "r(tensor) | mean abs(Vzz) PCM V/Å² | mean abs(Vzz) DFT V/Å² |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *rows])


def cost_summary(results: list[dict]) -> str:
    """One line: what the ``ok`` results cost (SCF iterations, wall time per structure, gap).

    Parameters
    ----------
    results : list of dict
        Result dicts (only ``ok`` ones are counted).

    Returns
    -------
    str
        Count; median and range of SCF iterations, of wall time (min, all SCF
        runs of a structure) and of the band gap on the k-mesh (eV); threads;
        CPU models.
    """
    from ltoefg.dft.outputs import HARTREE_EV

    ok = [r for r in results if r.get("status") == "ok"]
    if not ok:
        return "no ok results yet"
    steps = np.array([r.get("scf_iterations", 0) for r in ok], float)
    wall = np.array([r.get("wall_time_s_total") or 0.0 for r in ok], float) / 60
    gap = np.array([(r.get("gap_ha") or np.nan) * HARTREE_EV for r in ok], float)
    threads = "/".join(sorted({str(r.get("threads")) for r in ok}))
    hosts = "; ".join(sorted({str(r.get("host", {}).get("cpu")) for r in ok}))
    return (
        f"{len(ok)} ok results: SCF iterations median {np.median(steps):.0f} "
        f"(range {steps.min():.0f}–{steps.max():.0f}); wall time per structure median "
        f"{np.median(wall):.1f} min (range {wall.min():.1f}–{wall.max():.1f}) on "
        f"{threads} OpenMP threads; band gap median {np.nanmedian(gap):.2f} eV "
        f"(range {np.nanmin(gap):.2f}–{np.nanmax(gap):.2f}); CPU: {hosts}"
    )
