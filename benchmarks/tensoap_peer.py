"""The TENSOAP side of the λ-SOAP peer comparison (README, Performance; docs/baselines.md).

The comparison runs the issue's prototype workload of ``bench_baselines.py``
(3,200 ⁷Li environments of 400 LTO-like structures, 2,560 train / 640 test,
ζ = 2, cutoff 5 Å, σ 0.4 Å, n_max 5, l_max 4, regularisation 1e-4) in TENSOAP
(https://github.com/dilkins/TENSOAP, not part of this repository) on exactly
the same structures, labels, split and — for its sparse fit — the same 640
active environments our sparse GPR selects. This script does the ltoefg side:

``export DIR``
    writes ``DIR/prototype.xyz`` (extended XYZ, periodic; per-atom array
    ``efg_L2``: the 5 real-spherical λ = 2 components of P(V) in V/Å², order
    m = −2…2 as :func:`ltoefg.tensors.to_spherical`, zero on Ti and O),
    ``train_rows.npy`` / ``test_rows.npy`` (indices into the 3,200 Li
    environments in file order) and ``active640_rows.npy`` (the 640
    farthest-point-sampled training environments of our sparse fit, same
    indexing), and prints the TENSOAP commands;
``score FILE``
    reads TENSOAP's ``prediction_L2.txt`` (5 reference then 5 predicted
    columns per test environment) and prints the test RMSE over the 5
    components, the number ``bench_baselines.py prototype`` reports as
    ``test_rmse``.

Timings and peak memory of the TENSOAP steps come from ``/usr/bin/time -v``
(wall clock, maximum resident set size); see :data:`COMMANDS`. TENSOAP (git
7ee93d0) builds and runs with Cython < 3, SciPy < 1.15 (its ``sph_harm``; newer
SciPy gives NaN power spectra) and NumPy < 1.25 (its sparse spherical fit
compares an array with ``[]``), in a venv of its own::

    python3 -m venv tsvenv
    tsvenv/bin/pip install ase sympy packaging setuptools "cython<3" "scipy<1.15" "numpy<1.25"
    make -C TENSOAP/soapfast cython PYTH=$PWD/tsvenv/bin/python
    export PATH=$PWD/tsvenv/bin:$PATH && source TENSOAP/env.sh

Its sparse spherical fit fails with ``-j`` (jitter), so the commands leave it out.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: The TENSOAP steps (run in the export folder after ``source TENSOAP/env.sh``).
COMMANDS = """\
# full (exact) SA-GPR, TENSOAP's atomic λ = 2 learning (its README, examples 4 and 7)
T="/usr/bin/time -v"
$T sagpr_get_PS -f prototype.xyz -p -c Li -s Li Ti O -n 5 -l 4 -rc 5 -sg 0.4 -lm 0 -a -o PS0
$T sagpr_get_PS -f prototype.xyz -p -c Li -s Li Ti O -n 5 -l 4 -rc 5 -sg 0.4 -lm 2 -a -o PS2
$T sagpr_get_kernel -z 2 -ps PS2_atomic_Li.npy -ps0 PS0_atomic_Li.npy -s NONE -o K2
$T sagpr_train -r 2 -sp -reg 1e-4 -f prototype.xyz -p efg_L2 -c Li -k K2.npy \\
   -sel train_rows.npy -pr
python {script} score prediction_L2.txt
# sparse: the same 640 active environments as ltoefg's sparse fit (its README, example 5)
$T sagpr_apply_env_fps -p PS0_atomic_Li.npy -sf active640_rows -o PS0_M
$T sagpr_apply_env_fps -p PS2_atomic_Li.npy -sf active640_rows -o PS2_M
$T sagpr_get_kernel -z 2 -ps PS2_atomic_Li.npy PS2_M.npy -ps0 PS0_atomic_Li.npy PS0_M.npy \\
   -s NONE NONE -o K2_NM
$T sagpr_get_kernel -z 2 -ps PS2_M.npy -ps0 PS0_M.npy -s NONE -o K2_MM
$T sagpr_train -r 2 -sp -reg 1e-4 -f prototype.xyz -p efg_L2 -c Li \\
   -sf K2_NM.npy K2_MM.npy -sel train_rows.npy -pr -m solve
python {script} score prediction_L2.txt
"""


def export(out: Path, n_active: int = 640) -> None:
    """Write the workload for TENSOAP into ``out`` (module docstring)."""
    import ase.io
    from bench_baselines import PROTOTYPE, prototype_data

    from baselines.engine.features import compute_descriptors
    from baselines.engine.sparse_gpr import farthest_point_sampling
    from ltoefg.tensors import symmetric_traceless, to_spherical

    frames, centres, efg = prototype_data()
    perm = np.random.default_rng(1).permutation(len(centres))  # as run_prototype
    train, test = perm[:2560], perm[2560:3200]
    # the active set of our sparse fit: FPS on the training λ = 0 features, seed 0
    x0 = compute_descriptors(frames, centres[train], PROTOTYPE.soap(), lambdas=(0,)).x0
    active = train[farthest_point_sampling(x0, n_active, seed=0)]
    labels = to_spherical(symmetric_traceless(efg))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s, atoms in enumerate(frames):
        a = atoms.copy()
        values = np.zeros((len(a), 5))
        rows = np.flatnonzero(centres[:, 0] == s)
        values[centres[rows, 1]] = labels[rows]
        a.arrays["efg_L2"] = values
        written.append(a)
    ase.io.write(out / "prototype.xyz", written, format="extxyz")
    np.save(out / "train_rows.npy", train)
    np.save(out / "test_rows.npy", test)
    np.save(out / f"active{n_active}_rows.npy", active)
    print(f"wrote {out}/prototype.xyz, train_rows.npy, test_rows.npy, active{n_active}_rows.npy")
    print(f"Li environments {len(centres)}, train {train.size}, test {test.size}")
    print(COMMANDS.format(script=Path(__file__).resolve()))


def score(path: Path) -> float:
    """Test RMSE over the 5 λ = 2 components from TENSOAP's prediction_L2.txt (V/Å²)."""
    table = np.loadtxt(path)
    if table.ndim != 2 or table.shape[1] < 10:
        raise SystemExit(f"{path}: expected 5 reference and 5 predicted columns per line.")
    ref, pred = table[:, :5], table[:, 5:10]
    rmse = float(np.sqrt(np.mean((pred - ref) ** 2)))
    print(
        f"{len(table)} test environments: test RMSE {rmse:.4f} V/Å² (5 components), "
        f"target RMS {float(np.sqrt(np.mean(ref**2))):.4f} V/Å²"
    )
    return rmse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("export", help="write the prototype workload for TENSOAP")
    p1.add_argument("out", type=Path)
    p2 = sub.add_parser("score", help="test RMSE from TENSOAP's prediction_L2.txt")
    p2.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.cmd == "export":
        export(args.out)
    else:
        score(args.file)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
