"""Prediction workflow for large LTO models (ltoefg.application.predict with the λ-SOAP
model of baselines.runs.application, and the baselines.cli commands)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("featomic")

import ltoefg  # noqa: E402
from baselines import cli  # noqa: E402
from baselines.cli import CommandError  # noqa: E402
from baselines.models.soap import Hypers, ScalarSoapModel, TensorSoapModel  # noqa: E402
from baselines.runs.application import load_tensor_model  # noqa: E402
from ltoefg import nmr  # noqa: E402
from ltoefg.application.predict import CSV_COLUMNS, lab_rotation, predict_structures  # noqa: E402
from ltoefg.tensors import random_rotations, rotate  # noqa: E402

TINY = Hypers(cutoff=4.0, sigma=0.5, n_max=3, l_max=2, zeta=2.0, n_active=40)


@pytest.fixture(scope="module")
def data():
    ds = ltoefg.load("pcm-v1")
    frames = [ds.atoms(i) for i in range(8)]
    sites = ds.sites
    li = sites[(sites.species == "Li") & (sites.structure < 6)]
    centres = li[["structure", "atom_index"]].to_numpy()
    return ds, frames, centres, ds.efg[li.site_id.to_numpy()]


@pytest.fixture(scope="module")
def model(data):
    _, frames, centres, efg = data
    return TensorSoapModel(TINY).fit(frames[:6], centres, efg)


@pytest.fixture(scope="module")
def model_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "li.npz"
    model.save(path)
    return path


def test_saved_model_predicts_identically(model, model_file, data):
    _, frames, _, _ = data
    loaded = load_tensor_model(model_file)
    a = predict_structures(frames[6:], model)
    b = predict_structures(frames[6:], loaded)
    assert np.array_equal(a.efg, b.efg)
    assert a.table.equals(b.table)


def test_prediction_table(model, data):
    _, frames, _, _ = data
    pred = predict_structures(frames[6:], model, bin_width_khz=5.0, min_count=2)
    tab = pred.table
    assert list(tab.columns) == list(CSV_COLUMNS)
    assert len(tab) == 16  # 6 (8a) + 2 (16d) Li per 42-atom structure
    assert set(tab.wyckoff) == {"8a", "16d"}
    obs = nmr.observables(pred.efg, "Li", mu=1.0, sigma=1.0)
    for col in ("cq_khz", "eta", "theta", "phi", "omega_q_khz"):
        assert np.allclose(tab[col], obs[col], rtol=0, atol=1e-9)
    assert np.array_equal(tab["region"].to_numpy(), pred.classification.labels)
    assert np.allclose(np.trace(pred.efg, axis1=1, axis2=2), 0.0, atol=1e-12)


def test_rotated_structure_gives_rotated_tensors(model, data, rng):
    _, frames, _, _ = data
    frame = frames[7]
    rot = random_rotations(1, rng)[0]
    turned = frame.copy()
    turned.set_cell(frame.cell[:] @ rot.T, scale_atoms=False)
    turned.positions = frame.positions @ rot.T
    a = predict_structures([frame], model)
    b = predict_structures([turned], model)
    expected = rotate(a.efg, rot)
    scale = np.abs(a.efg).max()
    assert np.abs(b.efg - expected).max() <= 1e-8 * scale
    ta, tb = a.table, b.table
    assert np.allclose(tb.cq_khz, ta.cq_khz, rtol=1e-8, atol=0)
    assert np.allclose(tb.eta, ta.eta, rtol=0, atol=1e-8)
    # ωQ follows the lab-frame formula for the rotated tensors, and really changes
    assert np.allclose(tb.omega_q_khz, nmr.omega_q_khz(expected, "Li"), rtol=0, atol=1e-6)
    assert np.abs(tb.omega_q_khz - ta.omega_q_khz).max() > 1.0


def test_field_direction(model, data):
    _, frames, _, _ = data
    n = np.array([1.0, 2.0, -0.5])
    n /= np.linalg.norm(n)
    r = lab_rotation(n)
    assert np.allclose(r @ n, [0, 0, 1]) and np.isclose(np.linalg.det(r), 1.0)
    pred = predict_structures(frames[6:], model, b0_direction=n)
    v = pred.efg
    # SPEC §3.1 v2: signed Q and signed field-direction element, no per-site flip
    expect = nmr.omega_q_prefactor_khz("Li") * np.einsum("i,nij,j->n", n, v, n)
    assert np.allclose(pred.table.omega_q_khz, expect, rtol=0, atol=1e-9)
    assert np.allclose(pred.b0_direction, n)
    assert np.allclose(lab_rotation([0, 0, -2]) @ [0, 0, -1], [0, 0, 1])


def test_other_format_version_is_refused(model_file, tmp_path):
    with np.load(model_file) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["format_version"] = np.array(999)
    bad = tmp_path / "old.npz"
    np.savez(bad, **arrays)
    with pytest.raises(CommandError, match="format version 999"):
        load_tensor_model(bad)


def test_wrong_models_are_refused(data, tmp_path):
    ds, frames, centres, efg = data
    scalar = ScalarSoapModel(TINY).fit(frames[:2], "Li", {"x": np.arange(16.0)})
    scalar.save(tmp_path / "s.npz")
    with pytest.raises(CommandError, match="TensorSoapModel"):
        load_tensor_model(tmp_path / "s.npz")
    ti = ds.sites[(ds.sites.species == "Ti") & (ds.sites.structure < 2)]
    TensorSoapModel(TINY).fit(
        frames[:2], ti[["structure", "atom_index"]].to_numpy(), ds.efg[ti.site_id.to_numpy()]
    ).save(tmp_path / "ti.npz")
    with pytest.raises(CommandError, match="not on Li"):
        load_tensor_model(tmp_path / "ti.npz")
    with pytest.raises(CommandError, match="does not exist"):
        load_tensor_model(tmp_path / "missing.npz")


def test_predict_cli(model_file, data, tmp_path, capsys):
    from ase.io import read, write

    _, frames, _, _ = data
    src = tmp_path / "in.extxyz"
    inputs = [f.copy() for f in frames[6:]]
    for f in inputs:  # the data set's reference EFG (N, 3, 3), as (N, 9) for extxyz
        ref = f.arrays.pop("efg")
        f.new_array("efg", ref.reshape(len(f), 9))
    write(src, inputs, format="extxyz")
    out = tmp_path / "out"
    status = cli.main(
        [
            "predict",
            str(src),
            "--model",
            str(model_file),
            "--out",
            str(out),
            "--bin-width",
            "5",
            "--min-count",
            "2",
            "--title",
            "tiny test model",
        ]
    )
    assert status == 0
    for name in ("predictions.extxyz", "sites.csv", "summary.json", "omega_q_histogram.png"):
        assert (out / name).is_file()
    tab = pd.read_csv(out / "sites.csv")
    assert list(tab.columns) == list(CSV_COLUMNS) and len(tab) == 16
    back = read(out / "predictions.extxyz", index=":")
    assert len(back) == 2
    for s, at in enumerate(back):
        li = at.numbers == 3
        assert np.all(np.isnan(at.arrays["efg"][~li])) and np.all(at.arrays["region"][~li] == -1)
        assert np.all(np.isnan(at.arrays["omega_q_khz"][~li]))
        rows = tab[tab.structure == s].sort_values("atom_index")
        assert np.array_equal(np.flatnonzero(li), rows.atom_index.to_numpy())
        assert np.allclose(at.arrays["omega_q_khz"][li], rows.omega_q_khz, atol=1e-8)
        assert np.array_equal(at.arrays["region"][li], rows.region)
        efg = at.arrays["efg"][li].reshape(-1, 3, 3)
        assert np.allclose(nmr.omega_q_khz(efg, "Li"), rows.omega_q_khz, atol=1e-8)
        assert np.allclose(at.arrays["efg_input"], inputs[s].arrays["efg"])


def test_predict_cli_refuses_in_one_sentence(tmp_path, capsys, data):
    from ase.io import write

    _, frames, _, _ = data
    src = tmp_path / "in.xyz"
    write(src, frames[:1], format="xyz")
    status = cli.main(["predict", str(src), "--model", str(tmp_path / "no.npz"), "--out", "x"])
    err = capsys.readouterr().err
    assert status == 2 and "does not exist" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_lto_models_cli(tmp_path):
    from ase.io import read

    out = tmp_path / "models"
    status = cli.main(
        [
            "lto-models",
            "--n",
            "2",
            "--out",
            str(out),
            "--chains",
            "2",
            "--anneal-sweeps",
            "3",
            "--sample-sweeps",
            "2",
            "--jobs",
            "1",
        ]
    )
    assert status == 0
    frames = read(out / "lto_models.extxyz", index=":")
    assert len(frames) == 2 and all(len(f) == 1512 for f in frames)
    assert frames[0].info["energy_ev"] <= frames[1].info["energy_ev"]


def test_registry(capsys):
    names = set(cli.commands())
    assert {"predict", "lto-models"} <= names
    assert cli.main([]) == 0 and "COMMAND" in capsys.readouterr().out

    def other(args: argparse.Namespace) -> int:
        return 0

    with pytest.raises(ValueError, match="already registered"):
        cli.register("predict", "x", lambda p: None, other, module="somewhere.else")
    cli.register("_test_cmd", "test", lambda p: p.add_argument("--k", type=int), lambda a: a.k)
    try:
        assert cli.main(["_test_cmd", "--k", "3"]) == 3
    finally:
        cli._REGISTRY.pop("_test_cmd")


def test_predict_cli_with_the_point_charge_model(data, tmp_path):
    """``--model point-charge``: the pcm labeller as a model, with its banner."""
    import json

    from ase.io import write

    from ltoefg.application.banner import figure_title
    from ltoefg.application.pointcharge_model import PointChargeModel
    from ltoefg.data.pointcharge import pcm_efg

    _, frames, _, _ = data
    src = tmp_path / "in.xyz"
    inputs = [f.copy() for f in frames[6:]]
    for f in inputs:
        del f.arrays["efg"]  # (N, 3, 3): extxyz holds only (N, k)
    write(src, inputs, format="extxyz")
    out = tmp_path / "pcm"
    argv = ["predict", str(src), "--model", "point-charge", "--out", str(out)]
    assert cli.main([*argv, "--min-count", "2"]) == 0
    tab = pd.read_csv(out / "sites.csv")
    # the written extxyz keeps positions to 1e-8 Å
    expect = np.concatenate([pcm_efg(f)[f.numbers == 3] for f in inputs])
    assert np.allclose(tab.omega_q_khz, nmr.omega_q_khz(expect, "Li"), rtol=0, atol=1e-3)
    assert json.loads((out / "summary.json").read_text())["n_sites"] == 16
    title = figure_title(PointChargeModel(), "Li", "point-charge")
    assert title.endswith("(point-charge labels, not DFT)")
