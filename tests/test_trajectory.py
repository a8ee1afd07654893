"""Trajectory predictions (ltoefg.application.trajectory): lazy, chunked, resumable, on Dask.

The model is the point-charge labeller (no featomic, picklable for Dask
worker processes) on the 42-atom cell; a 17-frame synthetic trajectory in 6
chunks of 3, 3, 3, 3, 3 and 2 frames runs in about a second (the Dask test
starts a LocalCluster of two worker processes: ≈ 10 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from ase.io import read, write

from baselines import cli
from ltoefg import constants as C
from ltoefg import nmr
from ltoefg.application.errors import ApplicationError
from ltoefg.application.pointcharge_model import PointChargeModel
from ltoefg.application.synthetic import write_ou_trajectory
from ltoefg.application.trajectory import count_frames, predict_trajectory
from ltoefg.application.trajectory_file import read_file
from ltoefg.data.pointcharge import pcm_efg
from ltoefg.data.structures import parent_cell

N_FRAMES = 17
CHUNK = 3  # chunks of 3, 3, 3, 3, 3, 2 frames
DATASETS = (C.TRAJ_EFG, C.TRAJ_OMEGA_Q_KHZ, C.TRAJ_ATOM_INDEX, C.TRAJ_WYCKOFF, C.TRAJ_CHUNK_DONE)


@pytest.fixture(scope="module")
def traj(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("traj") / "ou.extxyz"
    return write_ou_trajectory(parent_cell(), path, N_FRAMES, 0.05, 2.0, seed=11)


@pytest.fixture(scope="module")
def serial_file(traj: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "serial.h5"
    run = predict_trajectory(
        traj, PointChargeModel(), out, chunk=CHUNK, serial=True, model_id="pcm", progress=False
    )
    assert (run.n_chunks, run.chunks_computed, run.frames_computed) == (6, 6, N_FRAMES)
    return out


def datasets(path: Path, keys: tuple[str, ...] = DATASETS) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[k][:] for k in keys}


def assert_identical(a: Path, b: Path) -> None:
    """Every dataset bit for bit (float arrays compared as raw bytes)."""
    da, db = datasets(a), datasets(b)
    for key in DATASETS:
        assert da[key].dtype == db[key].dtype and da[key].shape == db[key].shape, key
        assert da[key].tobytes() == db[key].tobytes(), key


def test_serial_file_holds_the_model_tensors_and_omega_q(traj: Path, serial_file: Path) -> None:
    frames = read(traj, index=":")
    li = np.flatnonzero(frames[0].numbers == 3)
    expect = np.stack([pcm_efg(f)[li] for f in frames])  # (frames, sites, 3, 3)
    data = datasets(serial_file)
    assert data[C.TRAJ_EFG].shape == (N_FRAMES, len(li), 3, 3)
    np.testing.assert_array_equal(data[C.TRAJ_EFG], expect)
    om = nmr.omega_q_khz(expect.reshape(-1, 3, 3), "Li").reshape(N_FRAMES, len(li))
    np.testing.assert_allclose(data[C.TRAJ_OMEGA_Q_KHZ], om, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(data[C.TRAJ_ATOM_INDEX], li)
    assert data[C.TRAJ_WYCKOFF].astype(str).tolist() == ["8a"] * 6
    assert data[C.TRAJ_CHUNK_DONE].tolist() == [1] * 6
    meta = read_file(serial_file)
    assert meta.complete and meta.nucleus == "Li" and meta.chunk == CHUNK
    assert meta.provenance["training_data"]["label_method"] == "point-charge-ewald"
    # a rerun finds everything done and computes nothing
    again = predict_trajectory(
        traj, PointChargeModel(), serial_file, chunk=CHUNK, serial=True, model_id="pcm"
    )
    assert again.chunks_computed == 0 and again.chunks_done_before == 6


def test_field_direction_enters_omega_q(traj: Path, tmp_path: Path) -> None:
    n = np.array([1.0, 1.0, 1.0]) / np.sqrt(3.0)
    out = tmp_path / "b111.h5"
    predict_trajectory(traj, PointChargeModel(), out, b0_direction=n, chunk=7, serial=True)
    data = datasets(out)
    expect = nmr.omega_q_prefactor_khz("Li") * np.einsum("i,fsij,j->fs", n, data[C.TRAJ_EFG], n)
    np.testing.assert_allclose(data[C.TRAJ_OMEGA_Q_KHZ], expect, rtol=0, atol=1e-9)
    np.testing.assert_allclose(read_file(out).b0_direction, n, atol=1e-15)


def test_distributed_equals_serial_exactly(traj: Path, serial_file: Path, tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask.h5"
    run = predict_trajectory(
        traj, PointChargeModel(), out, chunk=CHUNK, n_workers=2, model_id="pcm", progress=False
    )
    assert run.chunks_computed == 6
    assert_identical(out, serial_file)


KILLER = """
import os, signal, sys
from ltoefg.application.pointcharge_model import PointChargeModel
from ltoefg.application.trajectory import predict_trajectory

class DiesAtFrame(PointChargeModel):
    def predict(self, frames, centres):
        if frames[0].info["frame"] >= int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: a hard kill
        return super().predict(frames, centres)

predict_trajectory(sys.argv[1], DiesAtFrame(), sys.argv[2], chunk=3, serial=True,
                   model_id="pcm", progress=False)
"""


def test_killed_run_resumes_to_the_uninterrupted_file(
    traj: Path, serial_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "killed.h5"
    # SIGKILL when asked for the first frame of chunk 3: chunks 0-2 are done, 3-5 not (half)
    res = subprocess.run(
        [sys.executable, "-c", KILLER, str(traj), str(out), str(3 * CHUNK)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == -signal.SIGKILL, res.stderr
    partial = read_file(out, require_complete=False)
    assert partial.done.tolist() == [True, True, True, False, False, False]
    with pytest.raises(ApplicationError, match=r"incomplete \(3 of 6 chunks"):
        read_file(out)
    run = predict_trajectory(
        traj, PointChargeModel(), out, chunk=CHUNK, serial=True, model_id="pcm", progress=False
    )
    assert (run.chunks_done_before, run.chunks_computed) == (3, 3)
    assert_identical(out, serial_file)


def test_resume_refuses_a_file_of_another_run(traj: Path, serial_file: Path) -> None:
    with pytest.raises(ApplicationError, match="another run .*chunk_frames"):
        predict_trajectory(
            traj, PointChargeModel(), serial_file, chunk=4, serial=True, model_id="pcm"
        )
    with pytest.raises(ApplicationError, match="another run .*model"):
        predict_trajectory(traj, PointChargeModel(), serial_file, chunk=CHUNK, serial=True)


def test_frames_are_counted_without_parsing(traj: Path) -> None:
    assert count_frames(traj, "extxyz") == N_FRAMES == len(read(traj, index=":"))


def test_reordered_atoms_are_refused(traj: Path, tmp_path: Path) -> None:
    frames = read(traj, index=":4")
    frames[2] = frames[2][np.roll(np.arange(len(frames[2])), 1)]
    bad = tmp_path / "reordered.extxyz"
    write(bad, frames, format="extxyz")
    with pytest.raises(ApplicationError, match="frame 2 .*other indices than the first frame"):
        predict_trajectory(bad, PointChargeModel(), tmp_path / "x.h5", chunk=2, serial=True)


def one_sentence(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_cli_runs_and_refuses_bad_input_in_one_sentence(
    traj: Path, serial_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.h5"
    argv = ["trajectory", str(traj), "--model", "point-charge", "--out", str(out)]
    assert cli.main([*argv, "--chunk", "3", "--serial", "--dt", "2 fs"]) == 0
    assert "17 frames × 6 Li sites: 6 of 6 chunks" in capsys.readouterr().out
    np.testing.assert_array_equal(datasets(out)[C.TRAJ_EFG], datasets(serial_file)[C.TRAJ_EFG])
    assert read_file(out).frame_interval_s == pytest.approx(2e-15)
    missing = ["trajectory", str(tmp_path / "none.xyz"), "--model", "point-charge"]
    assert "does not exist" in one_sentence([*missing, "--out", str(out)], capsys)
    assert ".h5" in one_sentence([*argv[:4], "--out", str(tmp_path / "x.txt")], capsys)
    assert "another run" in one_sentence([*argv, "--chunk", "5", "--serial"], capsys)
    assert "unit" in one_sentence([*argv, "--serial", "--dt", "3 parsecs"], capsys)
    assert "at least 1" in one_sentence([*argv, "--chunk", "0"], capsys)
    no_li = tmp_path / "no_li.extxyz"
    atoms = parent_cell()
    write(no_li, atoms[atoms.numbers != 3], format="extxyz")
    no_li_argv = ["trajectory", str(no_li), "--model", "point-charge", "--serial"]
    assert "no Li atoms" in one_sentence([*no_li_argv, "--out", str(tmp_path / "n.h5")], capsys)


class StopsAtFrame(PointChargeModel):
    """Sends this process SIGTERM while predicting a frame (as ``kill`` or SLURM would)."""

    def __init__(self, frame: int) -> None:
        super().__init__()
        self.frame = frame

    def predict(self, frames, centres):  # noqa: ANN001, ANN201
        if any(f.info["frame"] == self.frame for f in frames):
            os.kill(os.getpid(), signal.SIGTERM)
        return super().predict(frames, centres)


def test_sigterm_stops_after_the_current_chunk_and_resumes(
    traj: Path, serial_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "stopped.h5"
    with pytest.raises(ApplicationError, match=r"stopped after 2 new chunk\(s\) \(2 of 6 done\)"):
        predict_trajectory(traj, StopsAtFrame(4), out, chunk=CHUNK, serial=True, model_id="pcm")
    assert read_file(out, require_complete=False).done.tolist() == [1, 1, 0, 0, 0, 0]
    predict_trajectory(traj, PointChargeModel(), out, chunk=CHUNK, serial=True, model_id="pcm")
    assert_identical(out, serial_file)


def test_existing_scheduler_and_ase_traj_input(
    traj: Path, serial_file: Path, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    from ase.io.trajectory import Trajectory

    as_traj = tmp_path / "ou.traj"
    with Trajectory(str(as_traj), "w") as t:
        for atoms in read(traj, index=":"):
            t.write(atoms)
    assert count_frames(as_traj, "traj") == N_FRAMES
    out = tmp_path / "remote.h5"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        run = predict_trajectory(
            as_traj, PointChargeModel(), out, chunk=CHUNK, scheduler=cluster.scheduler_address,
            model_id="pcm", progress=False,
        )  # fmt: skip
    assert run.chunks_computed == 6
    keys = (C.TRAJ_EFG, C.TRAJ_OMEGA_Q_KHZ, C.TRAJ_ATOM_INDEX, C.TRAJ_CHUNK_DONE)
    ours, serial = datasets(out, keys), datasets(serial_file, keys)
    for key in keys:
        assert ours[key].tobytes() == serial[key].tobytes(), key
