"""Peak memory of the evaluator on hostile files vs a valid submission of the same split.

Issue 11: a 29 KB file that declared 6e7 ids once made the evaluator read
1.1 GB. Each case runs ``ltoefg.evaluate`` on the embedded ``pcm-v2`` in a fresh
process and records the tracemalloc peak of the call (the reference data set is
loaded inside it, as on the command line) and the process's peak RSS. Hostile
files must stay within 2× of the valid one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from ltoefg.evaluation import submission as S

_MEASURE = r"""
import json, resource, sys, tracemalloc, warnings
warnings.simplefilter("ignore")
import h5py, scipy.stats, ltoefg, ltoefg.evaluation.score, ltoefg.evaluation.reader
from ltoefg.errors import LtoefgError
tracemalloc.start()
try:
    ltoefg.evaluate(sys.argv[1]); outcome = "scored"
except LtoefgError as exc:
    outcome = str(exc)
print(json.dumps({"traced": tracemalloc.get_traced_memory()[1],
                  "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "outcome": outcome}))
"""


def _measure(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _huge_declared(f: h5py.File) -> None:
    g = f["O"]
    del g["site_id"], g["efg"]
    g.create_dataset("site_id", shape=(60_000_000,), dtype="i8", chunks=True)
    g.create_dataset("efg", shape=(60_000_000, 3, 3), dtype="f8", chunks=True)


def _duplicated(f: h5py.File) -> None:
    for nucleus in ("Li", "Ti", "O"):
        g = f[nucleus]
        ids, efg = g["site_id"][()], g["efg"][()]
        del g["site_id"], g["efg"]
        g["site_id"] = np.concatenate([ids, ids])  # twice the test ids: the most we read
        g.create_dataset("efg", data=np.concatenate([efg, efg]), compression="gzip")


def _long_vlen_attribute(f: h5py.File) -> None:
    f.attrs["model"] = "m" * (S.MAX_FILE_BYTES - (2 << 20))  # variable-length: size undeclared


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import ltoefg

    folder = tmp_path_factory.mktemp("memory")
    ds = ltoefg.load("pcm-v2")
    sub = S.template(ds, "random")
    for nucleus in ("Li", "Ti", "O"):
        sub[nucleus]["efg"] = ds.efg[sub[nucleus]["site_id"]]
    out = {"valid": S.write(folder / "valid.h5", sub)}
    for name, change in [
        ("huge-declared", _huge_declared),
        ("duplicated-2x", _duplicated),
        ("long-vlen-attribute", _long_vlen_attribute),
    ]:
        path = folder / f"{name}.h5"
        path.write_bytes(out["valid"].read_bytes())
        with h5py.File(path, "r+") as f:
            change(f)
        out[name] = path
    return out


def test_hostile_files_stay_within_twice_the_valid_peak(files: dict[str, Path]) -> None:
    valid = _measure(files["valid"])
    assert valid["outcome"] == "scored"
    for name in ("huge-declared", "duplicated-2x", "long-vlen-attribute"):
        hostile = _measure(files[name])
        assert hostile["outcome"] != "scored", name
        assert hostile["traced"] <= 2 * valid["traced"], (name, hostile, valid)
        assert hostile["rss_kib"] <= 2 * valid["rss_kib"], (name, hostile, valid)
