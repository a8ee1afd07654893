"""The evaluator on a small synthetic data set: known answers, template round trip, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from scipy.spatial.transform import Rotation

import ltoefg
from ltoefg import constants as C
from ltoefg import nmr
from ltoefg.cli import main
from ltoefg.data import h5format
from ltoefg.errors import SubmissionError
from ltoefg.evaluation import submission as S
from ltoefg.tensors import symmetric_traceless

NAME = "synthetic-eval"
#: per structure: 8 Li, 10 Ti, 24 O (the LTO composition of the 42-atom cell)
NUMBERS = np.array([3] * 8 + [22] * 10 + [8] * 24)


def build_dataset_file(path: Path, n_structures: int = 30, seed: int = 7) -> Path:
    """A small ltoefg data-set file with random symmetric traceless labels and 6 orderings."""
    rng = np.random.default_rng(seed)
    frames = [
        Atoms(numbers=NUMBERS, positions=rng.uniform(0, 8, (42, 3)), cell=np.eye(3) * 8, pbc=True)
        for _ in range(n_structures)
    ]
    scale = np.where(NUMBERS == 3, 0.3, np.where(NUMBERS == 22, 2.0, 1.0))
    efg = symmetric_traceless(rng.normal(size=(42 * n_structures, 3, 3)))
    efg *= np.tile(scale, n_structures)[:, None, None]
    table = pd.DataFrame({"ordering": np.arange(n_structures) % 6})
    data = h5format.from_structures(
        NAME,
        "synthetic-random",
        "random symmetric traceless tensors made by the test suite",
        frames,
        efg,
        table,
        {"seed": seed},
    )
    return h5format.write(path, data)


@pytest.fixture(scope="session")
def ds_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset_file(tmp_path_factory.mktemp("evalds") / "synthetic.h5")


@pytest.fixture(scope="session")
def ds(ds_path: Path) -> ltoefg.Dataset:
    return ltoefg.load(ds_path)


def perfect(ds: ltoefg.Dataset, split: str = "random", kind: str = C.KIND_TENSOR) -> dict:
    """A submission equal to the reference (tensor or observables)."""
    out: dict = {"dataset": ds.name, "split": split, "model": "oracle", "kind": kind}
    for nucleus in C.NUCLEI:
        ids = ds.split(split, nucleus).test
        if kind == C.KIND_TENSOR:
            out[nucleus] = {"site_id": ids, "efg": ds.efg[ids].copy()}
        else:
            obs = nmr.observable_arrays(ds.efg[ids], nucleus, *ds.stats(nucleus))
            out[nucleus] = {"site_id": ids, **{k: obs[k] for k in C.PRED_OBSERVABLES_REQUIRED}}
            out[nucleus][C.PRED_SIGN_VZZ] = np.where(obs[C.OBS_VZZ] < 0, -1.0, 1.0)
    return out


def test_perfect_tensor_submission_scores_zero(ds: ltoefg.Dataset) -> None:
    rep = ltoefg.evaluate(perfect(ds), dataset=ds)
    assert rep[C.RT_DATASET] == NAME and rep[C.RT_KIND] == C.KIND_TENSOR
    assert rep[C.RT_LABEL_METHOD] == "synthetic-random"
    assert set(rep[C.RT_NUCLEI]) == set(C.NUCLEI)
    for nucleus, r in rep[C.RT_NUCLEI].items():
        assert list(r) == list(C.NUCLEUS_REPORT_KEYS)
        assert r[C.R_N] == ds.split("random", nucleus).test.size
        for key in (
            C.R_MAE_CQ_TILDE,
            C.R_MAE_ETA_TILDE,
            C.R_MAE_THETA_DEG,
            C.R_MAE_PHI_DEG,
            C.R_MAE_THETA_DEG_REASSIGNED,
            C.R_MAE_PHI_DEG_REASSIGNED,
            C.R_MAE_OMEGA_Q_KHZ,
            C.R_MAE_VIJ,
            C.R_RMSE_VIJ,
            C.R_MAE_XI,
            C.R_SCORE,
        ):
            assert r[key] == pytest.approx(0.0, abs=1e-9), (nucleus, key)
        assert r[C.R_MEAN_XI] == pytest.approx(1.0, abs=1e-12)
        assert r[C.R_FRAC_OMEGA_Q_WITHIN] == 1.0
        assert r[C.R_FRAC_REASSIGNED] == 0.0
        assert r[C.R_MEDIAN_MISORIENTATION_DEG] == pytest.approx(0.0, abs=1e-5)
        assert r[C.R_R_CQ_TILDE] == pytest.approx(1.0)
    assert rep[C.RT_SCORE] == pytest.approx(0.0, abs=1e-12)
    assert rep[C.RT_N_PROJECTED] == {n: 0 for n in C.NUCLEI}
    assert rep[C.RT_REPORT_VERSION] == C.REPORT_VERSION == 2
    assert rep[C.RT_OMEGA_Q_SOURCE] == {n: C.OMEGA_Q_FROM_TENSOR for n in C.NUCLEI}
    json.dumps(rep, allow_nan=False)  # JSON-able, no NaN


def test_ids_in_any_order_are_aligned(ds: ltoefg.Dataset, rng: np.random.Generator) -> None:
    sub = perfect(ds)
    for nucleus in C.NUCLEI:
        perm = rng.permutation(sub[nucleus]["site_id"].size)
        sub[nucleus] = {k: v[perm] for k, v in sub[nucleus].items()}
    rep = ltoefg.evaluate(sub, dataset=ds)
    assert rep[C.RT_SCORE] == pytest.approx(0.0, abs=1e-12)
    assert rep[C.RT_NUCLEI]["O"][C.R_MAE_VIJ] == 0.0


@pytest.mark.parametrize(("axis", "angle_deg"), [(2, 30.0), (0, 20.0), (1, 45.0)])
def test_rotation_about_pas_axis_reports_that_misorientation(
    ds: ltoefg.Dataset, axis: int, angle_deg: float
) -> None:
    """Rotating each predicted tensor by α about one of its own PAS axes: misorientation α."""
    sub = perfect(ds)
    for nucleus in C.NUCLEI:
        ref = sub[nucleus]["efg"]
        pas = nmr.principal_axes(ref)
        rotvec = np.radians(angle_deg) * pas.frames[:, :, axis]  # the PAS axis, lab frame
        q = Rotation.from_rotvec(rotvec).as_matrix()
        sub[nucleus]["efg"] = q @ ref @ np.swapaxes(q, 1, 2)
    rep = ltoefg.evaluate(sub, dataset=ds)
    for r in rep[C.RT_NUCLEI].values():
        assert r[C.R_MEDIAN_MISORIENTATION_DEG] == pytest.approx(angle_deg, abs=1e-6)
        assert r[C.R_MEAN_XI] == pytest.approx(np.cos(np.radians(angle_deg / 2)), abs=1e-9)
        assert r[C.R_MAE_XI] == pytest.approx(1 - np.cos(np.radians(angle_deg / 2)), abs=1e-9)
        # the eigenvalues are unchanged: magnitude and shape are perfect
        assert r[C.R_MAE_CQ_TILDE] == pytest.approx(0.0, abs=1e-9)
        assert r[C.R_MAE_ETA_TILDE] == pytest.approx(0.0, abs=1e-9)
        assert r[C.R_SCORE] == pytest.approx(r[C.R_MAE_XI] / 3, abs=1e-9)
        assert r[C.R_MAE_VIJ] > 0


@pytest.mark.parametrize("with_omega", [False, True])
def test_observables_submission(ds: ltoefg.Dataset, with_omega: bool) -> None:
    sub = perfect(ds, kind=C.KIND_OBSERVABLES)
    if with_omega:
        for nucleus in C.NUCLEI:
            ids = sub[nucleus]["site_id"]
            sub[nucleus][C.OBS_OMEGA_Q_KHZ] = nmr.omega_q_khz(ds.efg[ids], nucleus)
    rep = ltoefg.evaluate(sub, dataset=ds)
    assert rep[C.RT_KIND] == C.KIND_OBSERVABLES
    assert rep[C.RT_SCORE] is None
    assert rep[C.RT_N_PROJECTED] == {n: None for n in C.NUCLEI}
    for r in rep[C.RT_NUCLEI].values():
        for key in (C.R_MAE_CQ_TILDE, C.R_MAE_ETA_TILDE, C.R_MAE_THETA_DEG, C.R_MAE_PHI_DEG):
            assert r[key] == pytest.approx(0.0, abs=1e-9)
        assert r[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(0.0, abs=1e-9)
        assert r[C.R_FRAC_OMEGA_Q_WITHIN] == 1.0
        for key in C.TENSOR_ONLY_KEYS:
            assert r[key] is None, key  # null, never zero
        assert r[C.R_MEAN_XI] is None and r[C.R_MAE_VIJ] is None and r[C.R_SCORE] is None


def test_sign_vzz_round_trip_through_a_file(
    tmp_path: Path, ds_path: Path, ds: ltoefg.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    sub = perfect(ds, kind=C.KIND_OBSERVABLES)
    signs = {n: sub[n][C.PRED_SIGN_VZZ].copy() for n in C.NUCLEI}
    assert all((s < 0).any() and (s > 0).any() for s in signs.values())
    path = S.write(tmp_path / "signed.h5", sub)
    with h5py.File(path) as f:
        for n in C.NUCLEI:
            np.testing.assert_array_equal(f[n][C.PRED_SIGN_VZZ][()], signs[n])
    back = S.read(path)
    for n in C.NUCLEI:
        np.testing.assert_array_equal(back.groups[n][C.PRED_SIGN_VZZ], signs[n])
    rep = ltoefg.evaluate(path, dataset=ds)
    assert rep[C.RT_OMEGA_Q_SOURCE] == {n: C.OMEGA_Q_DERIVED_SIGNED for n in C.NUCLEI}
    for r in rep[C.RT_NUCLEI].values():
        assert r[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(0.0, abs=1e-9)
    # without sign_vzz: Vzz > 0 assumed, and the report and the table say so
    for n in C.NUCLEI:
        del sub[n][C.PRED_SIGN_VZZ]
    path = S.write(tmp_path / "unsigned.h5", sub)
    rep = ltoefg.evaluate(path, dataset=ds)
    assert rep[C.RT_OMEGA_Q_SOURCE] == {n: C.OMEGA_Q_DERIVED_ASSUMED for n in C.NUCLEI}
    for n, r in rep[C.RT_NUCLEI].items():
        ids = sub[n]["site_id"]
        omega = nmr.omega_q_khz(ds.efg[ids], n)
        expected = np.mean(np.where(signs[n] < 0, 2 * np.abs(omega), 0.0))
        assert r[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(expected, rel=1e-9)
    assert main(["evaluate", str(path), "--dataset-file", str(ds_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "assuming Vzz > 0" in out and "has no 'sign_vzz'" in out
    # a sign that is not ±1 is refused
    bad = perfect(ds, kind=C.KIND_OBSERVABLES)
    bad["Ti"][C.PRED_SIGN_VZZ][3] = 0.5
    with pytest.raises(SubmissionError, match=r"group 'Ti': 'sign_vzz' must be −1 or \+1"):
        ltoefg.evaluate(bad, dataset=ds)
    bad["Ti"][C.PRED_SIGN_VZZ] = np.ones(bad["Ti"]["site_id"].size, dtype=np.int8)
    assert ltoefg.evaluate(bad, dataset=ds)[C.RT_OMEGA_Q_SOURCE]["Ti"] == C.OMEGA_Q_DERIVED_SIGNED


def test_nuclei_subset_and_string_form(ds: ltoefg.Dataset) -> None:
    rep = ltoefg.evaluate(perfect(ds), dataset=ds, nuclei="Li,O")
    assert list(rep[C.RT_NUCLEI]) == ["Li", "O"]
    sub = perfect(ds)
    del sub["Ti"]
    with pytest.raises(SubmissionError, match=r"group 'Ti': the nucleus group is missing"):
        ltoefg.evaluate(sub, dataset=ds, nuclei=["Li", "Ti"])


def test_projection_is_reported_and_strict_refuses(ds: ltoefg.Dataset) -> None:
    sub = perfect(ds)
    efg = sub["Li"]["efg"]
    efg[:, 0, 1] += 0.01  # antisymmetric part on every site
    efg[:, 1, 0] -= 0.01
    efg[:5] += 0.02 * np.eye(3)  # trace on five sites
    rep = ltoefg.evaluate(sub, dataset=ds)
    li = rep[C.RT_NUCLEI]["Li"]
    assert li[C.R_MAX_ASYMMETRY] == pytest.approx(0.02)
    assert li[C.R_MAX_ABS_TRACE] == pytest.approx(0.06)
    assert rep[C.RT_N_PROJECTED]["Li"] == efg.shape[0]
    assert li[C.R_MAE_CQ_TILDE] == pytest.approx(0.0, abs=1e-9)  # projection recovers the ref
    with pytest.raises(SubmissionError, match=r"group 'Li': 'efg' is not symmetric"):
        ltoefg.evaluate(sub, dataset=ds, strict=True)
    # round-off far below the tolerance is neither refused nor counted
    sub = perfect(ds)
    sub["Ti"]["efg"][:, 0, 1] *= 1 + 1e-12
    rep = ltoefg.evaluate(sub, dataset=ds, strict=True)
    assert rep[C.RT_N_PROJECTED]["Ti"] == 0


def test_dataset_name_must_match(ds: ltoefg.Dataset) -> None:
    sub = perfect(ds)
    sub["dataset"] = "pcm-v1"
    with pytest.raises(SubmissionError, match=r"attribute 'dataset' is 'pcm-v1' but the data set"):
        ltoefg.evaluate(sub, dataset=ds)


def test_tau_is_stated_and_changes_only_reassigned(ds: ltoefg.Dataset) -> None:
    rng = np.random.default_rng(3)
    sub = perfect(ds)
    for nucleus in C.NUCLEI:
        e = sub[nucleus]["efg"]
        sub[nucleus]["efg"] = e + 0.2 * np.abs(e).mean() * rng.normal(size=e.shape)
    r0 = ltoefg.evaluate(sub, dataset=ds, tau=0.0)
    r5 = ltoefg.evaluate(sub, dataset=ds, tau=0.5)
    assert r0[C.RT_TAU] == 0.0 and r5[C.RT_TAU] == 0.5
    for n in C.NUCLEI:
        a, b = r0[C.RT_NUCLEI][n], r5[C.RT_NUCLEI][n]
        assert a[C.R_FRAC_REASSIGNED] == 0.0 and b[C.R_FRAC_REASSIGNED] > 0.0
        assert a[C.R_MAE_THETA_DEG] == b[C.R_MAE_THETA_DEG]  # raw never replaced
        assert b[C.R_MAE_THETA_DEG_REASSIGNED] <= a[C.R_MAE_THETA_DEG_REASSIGNED] + 1e-12


def test_template_round_trip(tmp_path: Path, ds_path: Path, ds: ltoefg.Dataset) -> None:
    out = tmp_path / "predictions.h5"
    assert (
        main(["template", "--dataset", str(ds_path), "--split", "structure", "--out", str(out)])
        == 0
    )
    with h5py.File(out) as f:
        assert f.attrs["dataset"].decode() == NAME and f.attrs["split"].decode() == "structure"
        assert f.attrs["kind"].decode() == "tensor"
        for nucleus in C.NUCLEI:
            np.testing.assert_array_equal(
                f[nucleus]["site_id"][()], ds.split("structure", nucleus).test
            )
            assert f[nucleus]["site_id"].dtype == np.int64
            assert f[nucleus]["efg"].dtype == np.float64
            assert np.isnan(f[nucleus]["efg"][()]).all()
    # the untouched template is valid in form, refused for its NaN values
    with pytest.raises(SubmissionError, match=r"group 'Li': 'efg' holds NaN"):
        ltoefg.evaluate(out, dataset=ds)
    with h5py.File(out, "r+") as f:
        for nucleus in C.NUCLEI:
            f[nucleus]["efg"][...] = ds.efg[f[nucleus]["site_id"][()]]
    rep = ltoefg.evaluate(out, dataset=ds)
    assert rep[C.RT_SPLIT] == "structure"
    assert rep[C.RT_SCORE] == pytest.approx(0.0, abs=1e-12)


def test_observables_template_round_trip(tmp_path: Path, ds: ltoefg.Dataset) -> None:
    data = S.template(ds, "ordering", ["Li"], kind=C.KIND_OBSERVABLES, model="m")
    assert set(data["Li"]) == {"site_id", *C.PRED_OBSERVABLES_REQUIRED, C.OBS_OMEGA_Q_KHZ}
    assert C.PRED_SIGN_VZZ not in data["Li"]  # optional, no NaN placeholder
    obs = nmr.observable_arrays(ds.efg[data["Li"]["site_id"]], "Li", *ds.stats("Li"))
    for key in data["Li"]:
        if key != "site_id":
            data["Li"][key] = obs[key]
    path = S.write(tmp_path / "obs.h5", data)
    rep = ltoefg.evaluate(path, dataset=ds)
    assert rep[C.RT_MODEL] == "m" and list(rep[C.RT_NUCLEI]) == ["Li"]
    assert rep[C.RT_NUCLEI]["Li"][C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(0.0, abs=1e-9)


def test_cli_writes_json_only_on_success(
    tmp_path: Path, ds_path: Path, ds: ltoefg.Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    good = S.write(tmp_path / "good.h5", perfect(ds))
    bad_data = perfect(ds)
    bad_data["O"]["efg"][3, 1, 1] = np.nan
    bad = S.write(tmp_path / "bad.h5", bad_data)
    report = tmp_path / "report.json"
    args = ["--json", str(report), "--dataset-file", str(ds_path)]
    assert main(["evaluate", str(bad), *args]) == 2
    assert not report.exists()
    err = capsys.readouterr().err
    assert "bad.h5" in err and "group 'O'" in err and "NaN" in err
    assert main(["evaluate", str(good), *args]) == 0
    text = capsys.readouterr().out
    rep = json.loads(report.read_text())
    for key in (
        C.RT_DATASET,
        C.RT_SPLIT,
        C.RT_MODEL,
        C.RT_KIND,
        C.RT_VERSION,
        C.RT_TAU,
        C.RT_NUCLEI,
        C.RT_SCORE,
        C.RT_LABEL_METHOD,
    ):
        assert key in rep
    assert rep[C.RT_SCORE] == pytest.approx(0.0, abs=1e-12)
    # the printed table: plain words about the labels, raw vs reassigned, τ, units
    assert "not DFT" in text
    assert "raw PAS labels" in text and "reassigned (τ = 0.1)" in text
    assert "kHz" in text and "V/Å²" in text and "deg" in text
    assert [
        line for line in text.splitlines() if line.startswith(("Li (7Li)", "Ti (47Ti)", "O (17O)"))
    ]
    # a failing run leaves an existing report untouched
    before = report.read_text()
    assert main(["evaluate", str(bad), *args]) == 2
    assert report.read_text() == before


def test_cli_plots(tmp_path: Path, ds_path: Path, ds: ltoefg.Dataset) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(5)
    sub = perfect(ds)
    for nucleus in C.NUCLEI:
        sub[nucleus]["efg"] = sub[nucleus]["efg"] + 0.05 * rng.normal(
            size=sub[nucleus]["efg"].shape
        )
    path = S.write(tmp_path / "noisy.h5", sub)
    plots = tmp_path / "plots"
    assert main(["evaluate", str(path), "--plots", str(plots), "--dataset-file", str(ds_path)]) == 0
    pngs = sorted(p.name for p in plots.glob("*.png"))
    assert pngs == [f"{NAME}_random_{n}.png" for n in sorted(C.NUCLEI)]
    assert all((plots / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert not list(plots.glob(".*tmp"))


def test_import_does_not_load_matplotlib() -> None:
    import subprocess
    import sys

    code = "import sys, ltoefg; ltoefg.evaluate; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
