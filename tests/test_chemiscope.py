"""``python -m baselines predict ... --chemiscope FILE``: a chemiscope input of the predictions.

Small synthetic Li–O structures and a stand-in model with known tensors (no
featomic fit): the file is read back with json/gzip (chemiscope's format) and
with ``chemiscope.show_input`` (chemiscope's own reader), and its properties,
environments and EFG ellipsoids are compared with the prediction table.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

chemiscope = pytest.importorskip("chemiscope")
pytest.importorskip("featomic")

from scipy.spatial.transform import Rotation  # noqa: E402

from baselines import cli  # noqa: E402
from baselines.runs import application  # noqa: E402
from ltoefg.application.chemiscope_view import (  # noqa: E402
    CHEMISCOPE_MEDIAN_SEMIAXIS,
    write_chemiscope,
)
from ltoefg.application.predict import predict_structures  # noqa: E402
from ltoefg.tensors import symmetric_traceless  # noqa: E402


class KnownTensors:
    """Stands in for a λ-SOAP model: a fixed symmetric traceless tensor per Li site."""

    training_data = {"dataset": "synthetic", "label_method": "point-charge-ewald"}

    def predict(self, frames: list[Atoms], centres: np.ndarray) -> np.ndarray:
        out = []
        for i, j in centres:
            z = frames[i].positions[j, 2]  # two ωQ clusters: atoms low or high in the cell
            rng = np.random.default_rng(int(1000 * frames[i].info["seed"]) + int(j))
            base = np.diag([-1.0, -1.0, 2.0]) * (2.0 if z < 3.0 else -3.0)
            out.append(base + 0.02 * rng.normal(size=(3, 3)))
        return symmetric_traceless(np.array(out))


def synthetic_frames(n: int = 3) -> list[Atoms]:
    """n cubic Li8O4 boxes (6 Å, Li low and high in z), each with a seed in info."""
    frames = []
    rng = np.random.default_rng(7)
    for k in range(n):
        li = np.c_[rng.uniform(0, 6, (8, 2)), [1.0, 1.5, 2.0, 2.5, 4.0, 4.5, 5.0, 5.5]]
        o = rng.uniform(0, 6, (4, 3))
        atoms = Atoms("Li8O4", positions=np.r_[li, o], cell=[6, 6, 6], pbc=True)
        atoms.info["seed"] = k
        atoms.new_array("wyckoff", np.array(["8a"] * 4 + ["16d"] * 4 + ["32e"] * 4))
        frames.append(atoms)
    return frames


def read_back(path: Path) -> dict:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def predicted() -> tuple[list[Atoms], application.SitePredictions]:
    frames = synthetic_frames()
    pred = predict_structures(frames, KnownTensors(), bin_width_khz=2.0, n_regions=2, min_count=1)
    assert len(pred.table) == 24 and len(pred.classification.regions) == 2
    return frames, pred


@pytest.mark.parametrize("name", ["explore.json.gz", "explore.json"])
def test_file_holds_structures_properties_and_tensors(
    predicted: tuple[list[Atoms], application.SitePredictions], tmp_path: Path, name: str
) -> None:
    frames, pred = predicted
    path = write_chemiscope(tmp_path / name, frames, pred, description="synthetic, not DFT")
    data = read_back(path)
    tab = pred.table
    eig = np.linalg.eigvalsh(pred.efg)
    scale = CHEMISCOPE_MEDIAN_SEMIAXIS / np.median(np.abs(eig).max(axis=1))  # Å per V/Å²
    assert data["meta"]["description"] == (
        f"synthetic, not DFT\nEFG ellipsoids: {scale:.4g} Å of semi-axis per V/Å² of |Vii|"
    )
    assert [s["size"] for s in data["structures"]] == [12, 12, 12]
    np.testing.assert_allclose(data["structures"][1]["x"], frames[1].positions[:, 0])
    envs = [(e["structure"], e["center"]) for e in data["environments"]]
    assert envs == [tuple(map(int, c)) for c in pred.centres]
    assert all(frames[s].numbers[c] == 3 for s, c in envs)  # Li only
    props = data["properties"]
    for key in ("omega_q_khz", "cq_khz", "eta"):
        assert props[key]["target"] == "atom"
        np.testing.assert_allclose(props[key]["values"], tab[key].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(props["theta"]["values"], np.degrees(tab["theta"]), rtol=1e-12)
    assert props["omega_q_khz"]["units"] == "kHz"
    lo, hi = pred.classification.regions
    regions = props["region"]["values"]
    expected = {f"{k}: {r.lo:.0f} … {r.hi:.0f} kHz" for k, r in enumerate((lo, hi))}
    assert set(regions) == expected
    for text, label in zip(regions, tab["region"], strict=True):
        assert text.startswith(f"{label}: ")
    assert props["wyckoff"]["values"] == tab["wyckoff"].tolist()
    # the principal values, |Vxx| ≤ |Vyy| ≤ |Vzz|
    vzz = np.asarray(props["vzz"]["values"])
    np.testing.assert_allclose(np.abs(vzz), np.abs(eig).max(axis=1), rtol=1e-12)
    assert np.all(np.abs(props["vxx"]["values"]) <= np.abs(props["vyy"]["values"]) + 1e-12)
    # one ellipsoid per atom: |V_i|·scale along the principal axes, none off the Li sites
    atoms_params = data["shapes"]["efg"]["parameters"]["atom"]
    assert data["shapes"]["efg"]["kind"] == "ellipsoid" and len(atoms_params) == 36
    for k, (s, c) in enumerate(envs):
        e = atoms_params[12 * s + c]
        rot = Rotation.from_quat(e["orientation"]).as_matrix()
        axes = np.asarray(e["semiaxes"]) / scale
        v = pred.efg[k]
        np.testing.assert_allclose(rot @ np.diag(axes**2) @ rot.T, v @ v, atol=1e-10)
    li = {12 * s + c for s, c in envs}
    assert all(atoms_params[a]["semiaxes"] == [0, 0, 0] for a in range(36) if a not in li)
    settings = data["settings"]
    assert settings["map"]["x"]["property"] == "omega_q_khz"
    assert settings["map"]["color"]["property"] == "region"
    assert settings["structure"][0]["shape"] == ["efg"]
    widget = chemiscope.show_input(str(path))  # chemiscope's own reader accepts it
    assert widget is not None


def test_predict_command_writes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ase.io import write

    src = tmp_path / "in.extxyz"
    write(src, synthetic_frames(2), format="extxyz")
    monkeypatch.setattr(application, "load_tensor_model", lambda path, nucleus: KnownTensors())
    target = tmp_path / "view.json.gz"
    argv = ["predict", str(src), "--model", "known.npz", "--out", str(tmp_path / "out")]
    argv += ["--no-plot", "--bin-width", "2", "--min-count", "1", "--regions", "2"]
    assert cli.main([*argv, "--chemiscope", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().out
    data = read_back(target)
    assert len(data["structures"]) == 2 and len(data["environments"]) == 16
    assert "point-charge labels, not DFT" in data["meta"]["description"]
    # a bad name is refused in one sentence before anything is computed
    assert cli.main([*argv, "--chemiscope", str(tmp_path / "view.txt")]) == 2
    err = capsys.readouterr().err
    assert "must end with .json or .json.gz" in err and len(err.strip().splitlines()) == 1


def test_explicit_ellipsoid_scale(
    predicted: tuple[list[Atoms], application.SitePredictions], tmp_path: Path
) -> None:
    frames, pred = predicted
    path = write_chemiscope(tmp_path / "s.json", frames, pred, ellipsoid_scale=0.25)
    data = read_back(path)
    e = data["shapes"]["efg"]["parameters"]["atom"][0]  # atom 0 of frame 0 is Li
    np.testing.assert_allclose(
        sorted(e["semiaxes"]), 0.25 * np.sort(np.abs(np.linalg.eigvalsh(pred.efg[0]))), rtol=1e-10
    )
    assert data["meta"]["description"].endswith("0.25 Å of semi-axis per V/Å² of |Vii|")
