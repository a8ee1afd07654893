"""Throughput of trajectory predictions (issue 14): frames/s serial vs Dask LocalCluster.

One 1512-atom Li4Ti5O12 model (288 Li) displaced by a synthetic
Ornstein–Uhlenbeck process (:mod:`ltoefg.application.synthetic`; not MD)
over ``$LTOEFG_TRAJ_FRAMES`` frames (default 12), predicted with the λ-SOAP
model by :func:`ltoefg.application.trajectory.predict_trajectory` in three
ways: in this process (``serial``, BLAS with its default threads), and on a
``distributed.LocalCluster`` of 1 and of 2 worker processes (one thread each;
Dask's nanny sets ``OMP_NUM_THREADS=1`` in its workers). Chunks of 2 frames.
The wall time includes reading the trajectory, writing the HDF5 file and —
for the clusters — starting the cluster and sending the model to the
workers (reported separately as ``startup``).

Model: ``$LTOEFG_APP_MODEL`` (a ``TensorSoapModel`` .npz, e.g.
``runs/li_pcm_v2.npz`` of ``python -m baselines fit-tensor-model``), else the
default-hyperparameter model that ``bench_application`` fits. Run::

    LTOEFG_APP_MODEL=runs/li_pcm_v2.npz python benchmarks/bench_trajectory.py
    python -m pytest benchmarks/bench_trajectory.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_application import model, structures  # noqa: E402
from ltoefg.application.synthetic import write_ou_trajectory  # noqa: E402
from ltoefg.application.trajectory import predict_trajectory  # noqa: E402
from ltoefg.dask_cluster import dask_client  # noqa: E402

#: (label, serial, LocalCluster workers)
MODES: tuple[tuple[str, bool, int | None], ...] = (
    ("serial", True, None),
    ("LocalCluster, 1 worker", False, 1),
    ("LocalCluster, 2 workers", False, 2),
)
CHUNK = 2


def n_frames() -> int:
    """Frames of the benchmark trajectory (``$LTOEFG_TRAJ_FRAMES``, default 12)."""
    return int(os.environ.get("LTOEFG_TRAJ_FRAMES", "12"))


def trajectory(folder: Path) -> Path:
    """A synthetic trajectory of the lowest-energy 1512-atom model (σ 0.05 Å, τ 3 frames)."""
    return write_ou_trajectory(structures(1)[0], folder / "ou.extxyz", n_frames(), 0.05, 3.0, 7)


def startup_seconds(workers: int) -> float:
    """Wall time to start and stop a LocalCluster of ``workers`` worker processes."""
    t0 = time.perf_counter()
    with dask_client(None, workers, processes=True):
        pass
    return time.perf_counter() - t0


def run(traj: Path, m, serial: bool, workers: int | None, out: Path) -> dict[str, float]:
    """One timed prediction of the whole trajectory into ``out`` (removed first)."""
    out.unlink(missing_ok=True)
    r = predict_trajectory(
        traj, m, out, chunk=CHUNK, serial=serial, n_workers=workers, progress=False
    )
    return {
        "frames": float(r.frames_computed),
        "seconds": r.seconds,
        "frames_per_second": r.frames_per_second,
        "startup": startup_seconds(workers) if workers else 0.0,
    }


@pytest.mark.parametrize(("label", "serial", "workers"), MODES)
def test_trajectory_throughput(benchmark, tmp_path, label, serial, workers):
    pytest.importorskip("dask.distributed")
    traj = trajectory(tmp_path)
    m = model()
    result = benchmark.pedantic(
        run, args=(traj, m, serial, workers, tmp_path / "out.h5"), rounds=1, iterations=1
    )
    assert result["frames"] == n_frames()
    benchmark.extra_info.update({"mode": label, **result})


def main() -> None:
    m = model()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        traj = trajectory(folder)
        print(f"{n_frames()} frames × 1512 atoms (288 Li), chunks of {CHUNK} frames")
        print("| mode | wall s | frames/s | s/frame | cluster start-up s |")
        print("|---|---|---|---|---|")
        for label, serial, workers in MODES:
            r = run(traj, m, serial, workers, folder / "out.h5")
            print(
                f"| {label} | {r['seconds']:.1f} | {r['frames_per_second']:.3f} | "
                f"{r['seconds'] / r['frames']:.2f} | {r['startup']:.1f} |"
            )


if __name__ == "__main__":
    main()
