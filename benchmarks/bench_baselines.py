"""Speed and memory of the baselines' ML engine (SPEC §7, §10).

The prototype workload cited by the issue: 3,200 ⁷Li environments from 400
LTO-like 42-atom structures (8 Li each), 2,560 train / 640 test, λ-SOAP SA-GPR
with ζ = 2, cutoff 5 Å, σ 0.4 Å, n_max 5, l_max 4 — end to end (λ = 0 and λ = 2
features, active-set selection, kernels, fit, prediction). The reference
TENSOAP run took ~7.5 min (λ = 2 features 86 s, kernel 288 s, fit 29 s) and
11 GB peak memory.

Run the pytest-benchmark suite with::

    python -m pytest benchmarks/bench_baselines.py --benchmark-enable -s

and the stand-alone measurements (wall time per phase and peak RSS of a fresh
process) with::

    python benchmarks/bench_baselines.py prototype [--n-active 640|none]
    python benchmarks/bench_baselines.py scale --species O --n-train 31488 --n-active 2000

The structures follow the pcm-v1 protocol (``ltoefg.data.structures``, another
seed) and are labelled with the pcm-v1 point-charge EFG, so the workload is the
issue's prototype without reading the data file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from baselines.engine.features import compute_descriptors, select_centres  # noqa: E402
from baselines.engine.sparse_gpr import farthest_point_sampling  # noqa: E402
from baselines.models.soap import Hypers, ScalarSoapModel, TensorSoapModel  # noqa: E402
from ltoefg.data.pointcharge import pcm_efg  # noqa: E402
from ltoefg.data.structures import generate_structures  # noqa: E402
from ltoefg.tensors import to_spherical  # noqa: E402

PROTOTYPE = Hypers(cutoff=5.0, sigma=0.4, n_max=5, l_max=4, zeta=2.0, regularisation=1e-4)


# --------------------------------------------------------------------------- data


def lto_like_frames(n: int, seed: int = 0) -> list[Atoms]:
    """``n`` structures of the pcm-v1 protocol (ltoefg's generator; seed 0 = not pcm-v1's)."""
    frames, _ = generate_structures(n_structures=n, seed=seed)
    return frames


def point_charge_efg(frames: list[Atoms], centres: np.ndarray) -> np.ndarray:
    """The pcm-v1 labels (Ewald point-charge EFG, V/Å²) of (structure, atom) centres, (n, 3, 3)."""
    labels = {int(s): pcm_efg(frames[int(s)]) for s in np.unique(centres[:, 0])}
    return np.array([labels[int(s)][int(a)] for s, a in centres])


def prototype_data(seed: int = 0) -> tuple[list[Atoms], np.ndarray, np.ndarray]:
    """400 structures, the 3,200 Li centres and their EFGs (V/Å²-like units)."""
    frames = lto_like_frames(400, seed)
    centres = select_centres(frames, "Li")
    return frames, centres, point_charge_efg(frames, centres)


# --------------------------------------------------------------------------- workloads


def run_prototype(
    frames: list[Atoms], centres: np.ndarray, efg: np.ndarray, n_active: int | None = 640
) -> dict:
    """The prototype λ-SOAP SA-GPR workload; returns timings (s) and the test RMSE."""
    import dataclasses

    hypers = dataclasses.replace(PROTOTYPE, n_active=n_active)
    model = TensorSoapModel(hypers)
    perm = np.random.default_rng(1).permutation(len(centres))
    train, test = perm[:2560], perm[2560:3200]
    t0 = time.perf_counter()
    desc = model.descriptors(frames, centres)
    t1 = time.perf_counter()
    model.fit_descriptors(desc.subset(train), efg[train])
    t2 = time.perf_counter()
    pred = model.predict_descriptors(desc.subset(test))
    t3 = time.perf_counter()
    ref = to_spherical(efg[test])
    rmse = float(np.sqrt(((to_spherical(pred) - ref) ** 2).mean()))
    return {
        "n_active": n_active,
        "features_s": t1 - t0,
        "fit_s": t2 - t1,
        "predict_s": t3 - t2,
        "total_s": t3 - t0,
        "test_rmse": rmse,
        "target_rms": float(np.sqrt((ref**2).mean())),
    }


def run_scale(species: str, n_train: int, n_active: int, seed: int = 0) -> dict:
    """Sparse λ-SOAP fit on ``n_train`` environments of ``species`` (structures built here)."""
    per = {"Li": 8, "Ti": 10, "O": 24}[species]
    n_struct = -(-(n_train + 1000) // per)
    frames = lto_like_frames(n_struct, seed)
    centres = select_centres(frames, species)
    efg = point_charge_efg(frames, centres)
    import dataclasses

    model = TensorSoapModel(dataclasses.replace(PROTOTYPE, n_active=n_active))
    t0 = time.perf_counter()
    desc = model.descriptors(frames, centres)
    t1 = time.perf_counter()
    train, test = np.arange(n_train), np.arange(n_train, min(n_train + 1000, len(centres)))
    tr = desc.subset(train)
    fps = farthest_point_sampling(tr.x0, n_active, seed=0)
    t2 = time.perf_counter()
    model.fit_descriptors(tr, efg[train])
    t3 = time.perf_counter()
    pred = model.predict_descriptors(desc.subset(test))
    t4 = time.perf_counter()
    assert np.array_equal(model.gpr_.active_indices_, fps)
    ref = to_spherical(efg[test])
    return {
        "species": species,
        "n_train": n_train,
        "n_active": n_active,
        "features_s": t1 - t0,
        "fps_s": t2 - t1,
        "fit_s_including_fps": t3 - t2,
        "predict_1000_s": t4 - t3,
        "test_rmse": float(np.sqrt(((to_spherical(pred) - ref) ** 2).mean())),
        "target_rms": float(np.sqrt((ref**2).mean())),
    }


def _peak_rss_gb() -> float:
    # Linux: ru_maxrss in kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------- pytest-benchmark

try:
    import pytest
except ImportError:  # pragma: no cover - stand-alone use
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="module")
    def prototype():
        return prototype_data()

    @pytest.mark.parametrize("n_active", [640, 1280, None], ids=["M640", "M1280", "exact"])
    def test_lsoap_sagpr_prototype_end_to_end(benchmark, prototype, n_active) -> None:
        """Features + kernels + fit + predict, 2,560 train / 640 test Li (TENSOAP: ~450 s)."""
        result = benchmark.pedantic(
            run_prototype, args=(*prototype, n_active), rounds=1, iterations=1
        )
        benchmark.extra_info.update(result)
        assert result["test_rmse"] < 0.5 * result["target_rms"]

    def test_lambda2_features_3200_li(benchmark, prototype) -> None:
        """featomic λ-SOAP features alone (TENSOAP: 86 s)."""
        frames, centres, _ = prototype
        d = benchmark.pedantic(
            compute_descriptors,
            args=(frames, centres, PROTOTYPE.soap()),
            kwargs={"lambdas": (2,)},
            rounds=1,
            iterations=1,
        )
        assert d.x2.shape[:2] == (3200, 5)

    def test_scalar_soap_gpr_prototype(benchmark, prototype) -> None:
        """Scalar SOAP GPR of 2 targets on the same split (features + fit + predict)."""
        frames, centres, efg = prototype
        y = to_spherical(efg)
        targets = {"norm": np.linalg.norm(y, axis=1), "m0": y[:, 2]}

        def run():
            model = ScalarSoapModel(PROTOTYPE)
            model.fit(frames, centres[:2560], {k: v[:2560] for k, v in targets.items()})
            return model.predict(frames, centres[2560:])

        pred = benchmark.pedantic(run, rounds=1, iterations=1)
        assert pred["norm"].shape == (640,)


# --------------------------------------------------------------------------- stand-alone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("prototype", help="3,200-Li prototype workload, timings + peak RSS")
    p1.add_argument("--n-active", default="640", help="active environments, or 'none' (exact)")
    p2 = sub.add_parser("scale", help="sparse λ-SOAP fit at full-data-set scale")
    p2.add_argument("--species", default="Li", choices=["Li", "Ti", "O"])
    p2.add_argument("--n-train", type=int, default=10_496)
    p2.add_argument("--n-active", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.cmd == "prototype":
        data = prototype_data()
        base = _peak_rss_gb()
        n_active = None if args.n_active.lower() == "none" else int(args.n_active)
        cpu = _cpu_s()
        result = run_prototype(*data, n_active=n_active)
        result["cpu_s"] = _cpu_s() - cpu
        result["peak_rss_gb"] = _peak_rss_gb()
        result["peak_rss_gb_before_workload"] = base
    else:
        result = run_scale(args.species, args.n_train, args.n_active)
        result["peak_rss_gb"] = _peak_rss_gb()
    result["load_average_1min"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
