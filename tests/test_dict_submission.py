"""The dict API of ``ltoefg.evaluate`` refuses what the file format refuses (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

import ltoefg
from ltoefg.errors import SubmissionError
from ltoefg.evaluation import submission


@pytest.fixture(scope="module")
def ds() -> ltoefg.Dataset:
    return ltoefg.load("pcm-v2")


def valid(ds: ltoefg.Dataset) -> dict:
    ids = ds.split("random", "Li").test
    return {
        "dataset": ds.name,
        "split": "random",
        "model": "oracle",
        "kind": "tensor",
        "Li": {"site_id": ids, "efg": ds.efg[ids].copy()},
    }


def _drop(name: str) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        del d[name]

    return mutate


def _set(name: str, value: object) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        d[name] = value

    return mutate


CASES = [
    ("no-model", _drop("model"), "attribute 'model' is missing"),
    ("no-kind", _drop("kind"), "attribute 'kind' is missing"),
    ("no-dataset", _drop("dataset"), "attribute 'dataset' is missing"),
    ("no-split", _drop("split"), "attribute 'split' is missing"),
    ("unknown-kind", _set("kind", "vector"), "attribute 'kind' is 'vector'"),
    ("forged-model", _set("model", "ok\n| forged |"), "attribute 'model' holds the control"),
    ("path-dataset", _set("dataset", "../pcm-v2"), "attribute 'dataset' '../pcm-v2' is not"),
]


@pytest.mark.parametrize(("case", "mutate", "words"), CASES, ids=[c[0] for c in CASES])
def test_dict_and_file_refuse_alike(
    ds: ltoefg.Dataset, tmp_path: Path, case: str, mutate: Callable[[dict], None], words: str
) -> None:
    good = valid(ds)
    assert ltoefg.evaluate(good, dataset=ds)["score"] == pytest.approx(0.0, abs=1e-12)
    bad = valid(ds)
    mutate(bad)
    with pytest.raises(SubmissionError) as from_dict:
        ltoefg.evaluate(bad, dataset=ds)
    assert words in str(from_dict.value)
    # the same defect in a file: written valid, then changed with h5py
    path = submission.write(tmp_path / f"{case}.h5", good)
    with h5py.File(path, "r+") as f:
        if case.startswith("no-"):
            del f.attrs[case[3:]]
        else:
            name = {"unknown-kind": "kind", "forged-model": "model"}.get(case, "dataset")
            f.attrs[name] = np.bytes_(str(bad[name]).encode())
    with pytest.raises(SubmissionError) as from_file:
        ltoefg.evaluate(path, dataset=ds)
    assert words in str(from_file.value)
    # one sentence each, naming its source
    assert str(from_dict.value).startswith("<arrays>: group '/': ")
    assert str(from_file.value).startswith(f"{path}: group '/': ")


def test_a_dict_without_kind_is_not_guessed_from_its_groups(ds: ltoefg.Dataset) -> None:
    bad = valid(ds)
    del bad["kind"], bad["model"]
    with pytest.raises(SubmissionError, match=r"<arrays>: group '/': the attribute 'model'"):
        ltoefg.evaluate(bad, dataset=ds)
