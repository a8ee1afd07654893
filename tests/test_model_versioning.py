"""Saved baseline models record the data-format version they were trained on; loading checks it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("featomic", reason="featomic (extra 'baselines') is not installed")

from ase.build import bulk  # noqa: E402

from baselines.models.soap import Hypers, TensorSoapModel, load_model  # noqa: E402
from ltoefg.data.h5format import FORMAT_VERSION  # noqa: E402


def _tiny_model() -> TensorSoapModel:
    frames = []
    for k in range(3):
        at = bulk("Li2O", "fluorite", a=4.6).repeat((2, 1, 1))
        at.rattle(0.1, seed=k)
        frames.append(at)
    rng = np.random.default_rng(0)
    n = sum(int((a.numbers == 3).sum()) for a in frames)
    efg = rng.normal(size=(n, 3, 3))
    hypers = Hypers(cutoff=3.5, sigma=0.4, n_max=3, l_max=2, n_active=None, species=(3, 8))
    model = TensorSoapModel(hypers).fit(frames, "Li", efg)
    model.training_data = {"dataset": "tiny", "nucleus": "Li"}
    return model


def test_round_trip_keeps_training_data(tmp_path: Path) -> None:
    model = _tiny_model()
    model.save(tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert back.training_data == {"dataset": "tiny", "nucleus": "Li"}
    np.testing.assert_array_equal(back.gpr_.weights_, model.gpr_.weights_)


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, None])
def test_model_of_another_data_format_is_refused(tmp_path: Path, version: int | None) -> None:
    model = _tiny_model()
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        arrays = {k: z[k] for k in z.files}
    if version is None:
        del arrays["training_data_json"]
    else:
        arrays["training_data_json"] = np.array(f'{{"data_format_version": {version}}}')
    np.savez(tmp_path / "other.npz", **arrays)
    with pytest.raises(ValueError, match="data-format version"):
        load_model(tmp_path / "other.npz")
