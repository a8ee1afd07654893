"""Observables of the dynamics (ltoefg.application.dynamics) against known answers.

End to end through trajectory files: one Li that alternates between two fixed
tensors A, B (frames A B A B ...), and a static trajectory; plus the FFT
correlation sums against direct loops and pooling of replicas of different
lengths against a brute-force average over (site, origin) pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.io import read, write

from baselines import cli
from ltoefg import nmr
from ltoefg.application.dynamics import (
    analyse_files,
    block_average,
    correlations,
    lag_sums,
    parse_time_s,
    phase,
)
from ltoefg.application.errors import ApplicationError
from ltoefg.application.pointcharge_model import PointChargeModel
from ltoefg.application.trajectory import predict_trajectory
from ltoefg.data.pointcharge import pcm_efg
from ltoefg.data.structures import parent_cell

A = np.array([[10.0, 2.0, 0.0], [2.0, -4.0, 1.0], [0.0, 1.0, -6.0]])  # V/Å², traceless
B = np.array([[-3.0, 0.0, 5.0], [0.0, -5.0, 0.0], [5.0, 0.0, 8.0]])
T = 10  # frames (even: at an even lag half the origins sit on A, half on B)
TP = (5.0, 12.0)  # µs


class Alternating:
    """Stand-in model: tensor A on even frames, B on odd ones (``info['frame']``)."""

    training_data = {"dataset": "synthetic", "label_method": "point-charge-ewald"}

    def predict(self, frames: list[Atoms], centres: np.ndarray) -> np.ndarray:
        return np.stack([A if frames[i].info["frame"] % 2 == 0 else B for i, _ in centres])


def one_li_trajectory(path: Path, n: int) -> Path:
    frames = []
    for t in range(n):
        atoms = Atoms("LiO2", positions=[[0, 0, 0], [2, 0, 0], [0, 2, 0]], cell=[5, 5, 5], pbc=True)
        atoms.info["frame"] = t
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return path


@pytest.fixture(scope="module")
def alternating_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("alt")
    traj = one_li_trajectory(tmp / "alt.extxyz", T)
    out = tmp / "alt.h5"
    predict_trajectory(traj, Alternating(), out, chunk=3, serial=True, frame_interval_s=1e-12)
    return out


def test_alternating_tensor_gives_the_analytic_average_and_f2(alternating_file: Path) -> None:
    rep = analyse_files([str(alternating_file)], tp_us=TP, max_lag=5)
    av = rep.averages
    np.testing.assert_allclose(av.mean_efg[0], (A + B) / 2, rtol=0, atol=1e-13)
    w = nmr.omega_q_prefactor_khz("Li")
    wa, wb = w * A[2, 2], w * B[2, 2]  # ωQ/2π, kHz (B0 ∥ z)
    assert av.residual_omega_q_khz[0] == pytest.approx((wa + wb) / 2, abs=1e-12)
    assert av.omega_q_rms_khz[0] == pytest.approx(abs(wa - wb) / 2, rel=1e-12)
    cor = rep.correlations
    for p, tp in enumerate(TP):
        sa = np.sin(2 * np.pi * wa * 1e3 * tp * 1e-6)
        sb = np.sin(2 * np.pi * wb * 1e3 * tp * 1e-6)
        expect = [(sa**2 + sb**2) / 2 if m % 2 == 0 else sa * sb for m in range(6)]
        np.testing.assert_allclose(cor.f2[p], expect, rtol=0, atol=1e-13)
        assert cor.f2_plateau[p] == pytest.approx(((sa + sb) / 2) ** 2, abs=1e-13)
    np.testing.assert_allclose(cor.acf, [(-1.0) ** m for m in range(6)], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rep.lag_time_s, np.arange(6) * 1e-12)
    assert rep.training_data["dataset"] == "synthetic"


def test_block_averaging_removes_the_alternation(alternating_file: Path) -> None:
    rep = analyse_files([str(alternating_file)], tp_us=TP, block=2)
    w = nmr.omega_q_prefactor_khz("Li") * (A[2, 2] + B[2, 2]) / 2
    for p, tp in enumerate(TP):
        static = np.sin(2 * np.pi * w * 1e3 * tp * 1e-6) ** 2
        np.testing.assert_allclose(rep.correlations.f2[p], static, rtol=0, atol=1e-13)
    np.testing.assert_allclose(rep.lag_time_s, np.arange(3) * 2e-12)


def test_static_trajectory_gives_mean_sin_squared(tmp_path: Path) -> None:
    cell = parent_cell()
    cell.positions += np.random.default_rng(3).normal(scale=0.05, size=cell.positions.shape)
    frames = []
    for t in range(6):
        f = cell.copy()
        f.info["frame"] = t
        frames.append(f)
    write(tmp_path / "static.extxyz", frames, format="extxyz")
    out = tmp_path / "static.h5"
    predict_trajectory(tmp_path / "static.extxyz", PointChargeModel(), out, chunk=4, serial=True)
    rep = analyse_files([str(out)], tp_us=TP)
    li = cell.numbers == 3
    written = read(tmp_path / "static.extxyz", index=0)  # positions as extxyz keeps them
    omega = nmr.omega_q_khz(pcm_efg(written)[li], "Li")
    assert np.ptp(omega) > 5.0  # the six Li sites have different ωQ
    np.testing.assert_allclose(rep.averages.residual_omega_q_khz, omega, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rep.averages.omega_q_rms_khz, 0.0, atol=1e-9)
    for p, tp in enumerate(TP):
        static = np.mean(np.sin(2 * np.pi * omega * 1e3 * tp * 1e-6) ** 2)
        np.testing.assert_allclose(rep.correlations.f2[p], static, rtol=0, atol=1e-12)
        assert rep.correlations.f2_plateau[p] == pytest.approx(static, abs=1e-12)
    assert np.isnan(rep.correlations.acf).all()  # no fluctuation: undefined, not 0 or 1


def test_lag_sums_and_pooling_match_direct_loops(rng: np.random.Generator) -> None:
    x = rng.normal(size=(37, 70))  # more sites than one FFT block
    direct = np.array([(x[: 37 - m] * x[m:]).sum(axis=0) for m in range(9)])
    np.testing.assert_allclose(lag_sums(x, 8), direct, rtol=1e-10, atol=1e-10)
    series = [rng.normal(scale=40.0, size=(n, s)) for n, s in ((12, 3), (20, 5))]  # kHz
    cor = correlations(series, tp_us=[7.0], max_lag=6)
    for m in range(7):
        products = np.concatenate(
            [
                (np.sin(phase(x[: len(x) - m], 7.0)) * np.sin(phase(x[m:], 7.0))).ravel()
                for x in series
            ]
        )
        assert cor.f2[0, m] == pytest.approx(products.mean(), abs=1e-12)
    devs = [x - x.mean(axis=0) for x in series]
    cov = [np.concatenate([(d[: len(d) - m] * d[m:]).mean(axis=0) for d in devs]) for m in (0, 3)]
    assert cor.acf[3] == pytest.approx(cov[1].sum() / cov[0].sum(), rel=1e-10)


def test_units_and_block_average() -> None:
    assert parse_time_s("2 fs") == pytest.approx(2e-15)
    assert parse_time_s("1ps") == pytest.approx(1e-12)
    assert parse_time_s("0.5 ns") == pytest.approx(5e-10)
    assert parse_time_s("10 us") == parse_time_s("10 µs") == pytest.approx(1e-5)
    assert parse_time_s("3 ms") == pytest.approx(3e-3)
    for bad in ("1", "-1 ps", "1 parsec", "ps"):
        with pytest.raises(ApplicationError, match="unit"):
            parse_time_s(bad)
    # 1 kHz for 1 ms (1000 µs) is one full turn
    assert phase(1.0, 1000.0) == pytest.approx(2 * np.pi)
    np.testing.assert_array_equal(block_average(np.arange(7.0)[:, None], 3)[:, 0], [1.0, 4.0])
    with pytest.raises(ApplicationError, match="longer than"):
        block_average(np.zeros((2, 1)), 3)


def test_dynamics_command_writes_tables_and_bannered_figures(
    alternating_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    out, plots = tmp_path / "tables", tmp_path / "plots"
    argv = ["dynamics", str(alternating_file), "--out", str(out), "--plots", str(plots)]
    assert cli.main([*argv, "--tp-us", "5", "12", "--max-lag", "3"]) == 0
    sites = pd.read_csv(out / "dynamics_sites.csv")
    w = nmr.omega_q_prefactor_khz("Li") * (A[2, 2] + B[2, 2]) / 2
    assert sites.omega_q_khz.tolist() == pytest.approx([w], abs=1e-8)
    lags = pd.read_csv(out / "dynamics_correlations.csv")
    assert list(lags.columns) == ["lag_frames", "t_m_s", "acf", "f2_tp_5us", "f2_tp_12us"]
    assert lags.acf.tolist() == pytest.approx([1, -1, 1, -1], abs=1e-9)
    summary = json.loads((out / "dynamics_summary.json").read_text())
    assert summary["labels"] == "model trained on synthetic (point-charge labels, not DFT)"
    for name in ("residual_omega_q_histogram", "f2_correlation", "omega_q_autocorrelation"):
        assert (plots / f"{name}.png").stat().st_size > 10_000
    from ltoefg.application.dynamics_outputs import plot_f2, plot_residual_histogram

    rep = analyse_files([str(alternating_file)], tp_us=TP)
    for draw in (plot_f2, plot_residual_histogram):
        fig = draw(rep)
        assert fig._suptitle.get_text().endswith(summary["labels"])
    # bad input: one sentence, exit status 2
    assert cli.main(["dynamics", str(alternating_file)]) == 2
    assert cli.main(["dynamics", str(tmp_path / "none.h5"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--out" in err[0] and "does not exist" in err[1]
