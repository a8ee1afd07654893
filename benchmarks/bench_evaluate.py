"""Speed of the submission evaluator (budget: a 68,880-site tensor submission in < 5 s).

Run with ``pytest benchmarks/bench_evaluate.py``. Synthetic data-set files are
built in fixtures (random symmetric traceless labels, the LTO composition of
8 Li + 10 Ti + 24 O per 42-atom structure), so no data download is needed:

* ``full``: 8200 structures (344,400 sites), whose ``random`` split has exactly
  68,880 test sites (Li 13,120 · Ti 16,400 · O 39,360 — as many sites as the
  whole pcm-v1 data set), scored as one submission;
* ``pcm``: 1640 structures (68,880 sites, the size of pcm-v1), whose test split
  (13,776 sites) is what a real pcm-v1 submission holds.

Each submission is the reference plus noise, with ids shuffled (so alignment is
exercised), read from an HDF5 file as a user's would be.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

import ltoefg
from ltoefg import constants as C
from ltoefg.cli import main
from ltoefg.data import h5format
from ltoefg.evaluation import submission as S
from ltoefg.tensors import symmetric_traceless

NUMBERS = np.array([3] * 8 + [22] * 10 + [8] * 24)


def _dataset_file(path: Path, n_structures: int) -> Path:
    rng = np.random.default_rng(11)
    cell = np.eye(3) * 8.36
    frames = [
        Atoms(numbers=NUMBERS, positions=np.zeros((42, 3)), cell=cell, pbc=True)
    ] * n_structures
    efg = symmetric_traceless(rng.normal(size=(42 * n_structures, 3, 3)))
    table = pd.DataFrame({"ordering": np.arange(n_structures) % 6})
    data = h5format.from_structures(
        f"bench-{n_structures}",
        "synthetic-random",
        "synthetic benchmark labels",
        frames,
        efg,
        table,
    )
    return h5format.write(path, data)


def _submission_file(path: Path, ds: ltoefg.Dataset) -> tuple[Path, int]:
    rng = np.random.default_rng(12)
    sub: dict = {"dataset": ds.name, "split": "random", "model": "noisy oracle", "kind": "tensor"}
    n = 0
    for nucleus in C.NUCLEI:
        ids = rng.permutation(ds.split("random", nucleus).test)
        efg = ds.efg[ids] + 0.05 * rng.normal(size=(ids.size, 3, 3))
        sub[nucleus] = {"site_id": ids, "efg": efg}
        n += ids.size
    return S.write(path, sub), n


@pytest.fixture(scope="module", params=["full", "pcm"])
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp(request.param)
    n_structures = 8200 if request.param == "full" else 1640
    ds_path = _dataset_file(folder / "dataset.h5", n_structures)
    ds = ltoefg.load(ds_path)
    sub_path, n_sites = _submission_file(folder / "predictions.h5", ds)
    if request.param == "full":
        assert n_sites == 68_880
    return ds_path, ds, sub_path, n_sites, folder


def test_evaluate_api(benchmark, case) -> None:
    """``ltoefg.evaluate(path, dataset=ds)``: read, validate, align and score (data set open)."""
    _, ds, sub_path, n_sites, _ = case
    benchmark.extra_info["n_sites"] = n_sites
    rep = benchmark(ltoefg.evaluate, sub_path, dataset=ds)
    assert sum(r[C.R_N] for r in rep[C.RT_NUCLEI].values()) == n_sites


def test_evaluate_cli(benchmark, case) -> None:
    """``ltoefg evaluate predictions.h5 --json``: also opens the data set and prints the table."""
    ds_path, _, sub_path, n_sites, folder = case
    benchmark.extra_info["n_sites"] = n_sites
    args = ["evaluate", str(sub_path), "--dataset-file", str(ds_path)]
    args += ["--json", str(folder / "report.json")]

    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return main(args)

    assert benchmark(run) == 0


def test_evaluate_cli_pcm_v1(benchmark, tmp_path: Path) -> None:
    """The real thing: a full pcm-v1 test-split submission (13,776 sites) through the CLI."""
    from ltoefg.errors import DataError

    try:
        ds = ltoefg.load("pcm-v1")
    except DataError as exc:
        pytest.skip(f"pcm-v1 is not available: {exc}")
    sub_path, n_sites = _submission_file(tmp_path / "predictions.h5", ds)
    benchmark.extra_info["n_sites"] = n_sites
    args = ["evaluate", str(sub_path), "--json", str(tmp_path / "report.json")]

    def run() -> int:
        with contextlib.redirect_stdout(io.StringIO()):
            return main(args)

    assert benchmark(run) == 0
