"""The Elk runner's EFG stop, timeout, resume, errors, signals and ingest, without Elk.

``tests/data/fake_elk.py`` stands in for ``elk-lapw``: it writes INFO.OUT,
STATE.OUT, GEOMETRY.OUT and EFG.OUT in Elk's layout, honours the STOP file,
and its EFGs after iteration n are known: atom k (ase order) has
(k + 1) · diag(1, 1, −2) · (1 + 2⁻ⁿ) V/Å², so the iteration at which the EFG
stop must fire follows analytically.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms

from ltoefg.dft.efgstop import EfgPoint, change_history, changes_at, criterion_met
from ltoefg.dft.errors import DftError
from ltoefg.dft.inputs import elk_order, write_elk_in
from ltoefg.dft.monitor import snapshot
from ltoefg.dft.protocol import PRODUCTION, EfgStop
from ltoefg.dft.runner import request_stop, run_structure

FAKE = str(Path(__file__).parent / "data" / "fake_elk.py")
STOP = EfgStop(window=3, tolerance={"Li": 0.005, "O": 0.1}, consecutive=2)
PROTO = PRODUCTION.replace("test-fake", efg_stop=STOP, epspot=1e-12, maxscl=80)


def _atoms() -> Atoms:
    return Atoms("LiOLi", cell=np.diag([3.0, 4.0, 5.0]), scaled_positions=np.eye(3) * 0.5, pbc=True)


def _truth(atoms: Atoms, n: int) -> np.ndarray:
    f = (np.arange(len(atoms)) + 1.0) * (1 + 0.5**n)
    return f[:, None, None] * np.diag([1.0, 1.0, -2.0])


def _first_stop(atoms: Atoms) -> int:
    """First iteration n at which the criterion holds at n and n − 1 (every iteration checked)."""
    sym = np.array(atoms.get_chemical_symbols())
    k = np.arange(len(atoms)) + 1.0

    def passes(n: int) -> bool:  # max |ΔV_ij| = (k + 1) · 2 · (2^-(n-3) − 2^-n)
        return all((2 * k[sym == el] * 7 * 0.5**n).max() < STOP.tol(el) for el in ("Li", "O"))

    return next(n for n in range(4, 80) if passes(n) and passes(n - 1))


@pytest.fixture
def fake_env(monkeypatch):
    monkeypatch.setenv("FAKE_ELK_DT", "0.25")
    atoms = _atoms()
    monkeypatch.setenv(
        "FAKE_ELK_ORDER", ",".join(map(str, elk_order(atoms.get_chemical_symbols())))
    )
    return atoms


def test_criterion_known_answers():
    sym = ["Li", "O"]
    pts = [EfgPoint(n, np.array([np.eye(3) * 0.5**n, np.eye(3) * 10 * 0.5**n])) for n in (1, 2)]
    assert changes_at(pts, 2, 3, sym) is None and not criterion_met(pts, STOP, sym)
    pts += [EfgPoint(n, np.array([np.eye(3) * 0.5**n, np.eye(3) * 10 * 0.5**n])) for n in (4, 5)]
    # at 4: against 1 (2 − 1 = 1 ≤ 4 − 3); at 5: against 2; |Δ| = 2^-(n-3) − 2^-n = 7 · 2^-n
    assert changes_at(pts, 4, 3, sym) == pytest.approx({"Li": 7 / 16, "O": 70 / 16})
    assert changes_at(pts, 5, 3, sym) == pytest.approx({"Li": 7 / 32, "O": 70 / 32})
    loose = EfgStop(window=3, tolerance={"Li": 0.5, "O": 5.0}, consecutive=2)
    assert criterion_met(pts, loose, sym)
    assert not criterion_met(pts, EfgStop(3, {"Li": 0.3, "O": 5.0}, 2), sym)  # 7/16 > 0.3
    assert criterion_met(pts, EfgStop(3, {"Li": 0.3, "O": 5.0}, 1), sym)  # only n = 5
    hist = change_history(pts, 3, sym)
    assert [h["iteration"] for h in hist] == [1, 2, 4, 5] and hist[0]["max_abs_dv"] is None


def test_snapshot_copies_only_whole_files(tmp_path):
    src, dst = tmp_path / "STATE.OUT", tmp_path / "snap"
    src.write_bytes(b"a" * 100)
    assert snapshot(src, dst) and dst.read_bytes() == b"a" * 100
    src.write_bytes(b"b" * 60)  # being rewritten: shorter than the last snapshot
    assert not snapshot(src, dst, expected_size=100) and dst.read_bytes() == b"a" * 100
    assert not snapshot(tmp_path / "missing", dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["STATE.OUT", "snap"]


def test_efg_stop_ends_the_scf_and_records_the_history(tmp_path, fake_env):
    atoms = fake_env
    res = run_structure(atoms, PROTO, tmp_path / "run", threads=1, executable=FAKE, poll_s=0.05)
    assert res["status"] == "ok" and res["scf_end"] == "efg-stop", res.get("reason")
    first = _first_stop(atoms)
    hist = res["efg_change_history"]
    checked = [h["iteration"] for h in hist]
    assert checked == sorted(checked) and checked[0] == 1, hist
    # every check has the analytic change against the latest checked iteration ≤ n − 3:
    # max |ΔV_ij| of the atom with factor f = f · 2 · (2^-b − 2^-n); Li: f = 3, O: f = 2
    for h in hist:
        b = max([c for c in checked if c <= h["iteration"] - 3], default=None)
        if b is None:
            assert h["max_abs_dv"] is None
            continue
        d = 2 * (0.5**b - 0.5 ** h["iteration"])
        assert h["max_abs_dv"] == pytest.approx({"Li": 3 * d, "O": 2 * d}, rel=1e-6, abs=1e-9)
    # the monitor stops at the first check that passes after a passing check (never
    # before the analytic `first`); Elk ends the iteration it is in (more if a poll was late)
    ok = [h["max_abs_dv"] is not None and h["max_abs_dv"]["Li"] < 0.005 for h in hist]
    fired = next(c for k, c in enumerate(checked) if k and ok[k] and ok[k - 1])
    assert first <= fired <= res["scf_iterations"] <= fired + 3, hist
    assert "Info(checkstop): STOP file exists" in (tmp_path / "run" / "elk.log").read_text()
    np.testing.assert_allclose(res["efg"], _truth(atoms, res["scf_iterations"]), rtol=1e-9)
    h = hist[checked.index(fired)]
    assert h["rms_dv"] == pytest.approx(10 * 0.5**fired)
    assert not (tmp_path / "run" / "STOP").exists()
    assert res["protocol"] == PROTO.to_dict() and res["threads"] == 1
    assert {s["element"] for s in res["species"]} == {"Li", "O"}
    # a finished structure is returned as it is, without running Elk
    again = run_structure(atoms, PROTO, tmp_path / "run", executable="/nonexistent")
    assert again == res


def test_timeout_is_unconverged_and_a_rerun_resumes(tmp_path, fake_env):
    atoms = fake_env
    folder = tmp_path / "run"
    res = run_structure(atoms, PROTO, folder, threads=1, timeout=1.5, executable=FAKE, poll_s=0.05)
    assert res["status"] == "unconverged" and res["scf_end"] == "timeout"
    assert "run again to resume" in res["reason"] and "efg" not in res
    n1 = res["scf_iterations"]
    assert 1 <= n1 < _first_stop(atoms) and (folder / "STATE.OUT").is_file()
    res2 = run_structure(atoms, PROTO, folder, threads=1, executable=FAKE, poll_s=0.05)
    assert res2["status"] == "ok" and [r["tasks"] for r in res2["runs"]] == [0, 1]
    assert res2["runs"][0]["iterations"] == n1
    # the fake numbers iterations on from STATE.OUT: the final EFG is that of the total count
    np.testing.assert_allclose(res2["efg"], _truth(atoms, res2["scf_iterations"]), rtol=1e-9)


def test_elk_error_is_failed(tmp_path, fake_env, monkeypatch):
    monkeypatch.setenv("FAKE_ELK_ERROR", "1")
    request_stop()  # an earlier Ctrl-C: a new call from the main thread runs all the same
    res = run_structure(fake_env, PROTO, tmp_path / "run", threads=1, executable=FAKE)
    assert res["status"] == "failed" and "Error(readinput): fake error" in res["reason"]


SCRIPT = """
import sys
import numpy as np
from ase import Atoms
from ltoefg.dft.errors import DftInterruptedError
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.runner import request_stop, run_structure
atoms = Atoms("LiOLi", cell=np.diag([3.0, 4.0, 5.0]), scaled_positions=np.eye(3) * 0.5, pbc=True)
p = PRODUCTION.replace("test-sig", efg_stop=None, epspot=1e-12, maxscl=80)
try:
    run_structure(atoms, p, sys.argv[1], threads=1, executable=sys.argv[2], poll_s=0.05)
except DftInterruptedError as exc:
    print("interrupted:", exc, flush=True)
    sys.exit(130)
"""


def test_sigterm_stops_elk_cleanly_and_keeps_state(tmp_path):
    folder = tmp_path / "run"
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(folder), FAKE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).parents[1])),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (folder / "STATE.OUT").is_file():
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130 and "run again to resume" in out, out
    assert not (folder / "result.json").exists() and (folder / "STATE.OUT").is_file()
    assert "Info(checkstop): STOP file exists" in (folder / "elk.log").read_text()
    assert not (folder / "elk.pid").exists() and not (folder / "STOP").exists()


def test_ingest_a_finished_run(tmp_path, fake_env):
    atoms = fake_env
    done = tmp_path / "done"
    run_structure(atoms, PROTO, done, threads=1, executable=FAKE, poll_s=0.05)
    outside = tmp_path / "outside"  # the same files, as a run made by hand would leave them
    outside.mkdir()
    for name in ("EFG.OUT", "GEOMETRY.OUT", "INFO.OUT"):
        shutil.copy(done / name, outside / name)
    (outside / "INFO.OUT").write_text(
        (done / "INFO.OUT").read_text().replace("Wrote STATE.OUT\n\n| Elk", "Wrote STATE.OUT\n\n")
        + "\nConvergence targets achieved\n"
    )
    (outside / "elk.in").write_text(write_elk_in(atoms, PROTO, tasks=(0, 115), title="by hand"))
    res = run_structure(atoms, PROTO, outside, threads=1, executable=FAKE)
    assert res["ingested"] and res["status"] == "ok" and res["wall_time_s"] == 0.0
    assert json.loads((outside / "result.json").read_text())["efg"] == res["efg"]
    assert not (outside / "run-state.json").exists()  # Elk did not run
    # another protocol's elk.in is not ingested
    other = tmp_path / "other"
    shutil.copytree(outside, other)
    (other / "result.json").unlink()
    (other / "elk.in").write_text(write_elk_in(atoms, PROTO.replace("x", rgkmax=7.0)))
    res = run_structure(atoms, PROTO, other, threads=1, executable=FAKE, poll_s=0.05)
    assert not res["ingested"] and res["runs"][0]["tasks"] == 0


def test_warm_start_needs_the_same_species_order(tmp_path, fake_env):
    atoms = fake_env
    donor = tmp_path / "donor"
    run_structure(atoms, PROTO, donor, threads=1, executable=FAKE, poll_s=0.05)
    res = run_structure(
        atoms, PROTO, tmp_path / "warm", threads=1, executable=FAKE, warm_start=donor
    )
    assert res["status"] == "ok" and res["warm_start"] == str(donor / "STATE.OUT")
    assert res["runs"][0]["tasks"] == 1
    swapped = Atoms(
        "OLiLi", cell=atoms.cell, scaled_positions=atoms.get_scaled_positions(), pbc=True
    )
    with pytest.raises(DftError, match="same species and atom order"):
        run_structure(swapped, PROTO, tmp_path / "bad", executable=FAKE, warm_start=donor)
