"""Dask LocalCluster labelling of two cells end to end, and a resume after SIGTERM.

Elk is replaced by ``tests/data/fake_elk.py`` (on PATH as ``elk-lapw``), so the
test exercises the distribution, the atomic result files and the resume, not
Elk itself. Skipped where dask.distributed is not installed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dask.distributed")

FAKE = Path(__file__).parent / "data" / "fake_elk.py"

SCRIPT = """
import sys
import numpy as np
from ase import Atoms
from ltoefg.dft.distribute import label_structures
from ltoefg.dft.errors import DftInterruptedError
from ltoefg.dft.protocol import PRODUCTION

cell = np.diag([3.0, 4.0, 5.0])
structures = {
    0: Atoms("LiOLi", cell=cell, scaled_positions=np.eye(3) * 0.5, pbc=True),
    1: Atoms("LiOLi", cell=cell, scaled_positions=np.eye(3) * 0.4, pbc=True),
}
p = PRODUCTION.replace("test-dask", efg_stop=None, epspot=1e-4, maxscl=80)
try:
    s = label_structures(structures, "tiny", p, sys.argv[1], scratch=sys.argv[2], threads=1,
                         timeout=600, progress=False)
except DftInterruptedError as exc:
    print("interrupted:", exc, flush=True)
    sys.exit(130)
print("summary", s, flush=True)
"""


def test_localcluster_runs_two_cells_and_resumes_after_sigterm(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "elk-lapw").symlink_to(FAKE)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(Path(__file__).parents[1]),
        FAKE_ELK_DT="0.2",
        FAKE_ELK_ORDER="0,2,1",  # LiOLi: Elk lists Li, Li, O
    )
    script = tmp_path / "label.py"
    script.write_text(SCRIPT)
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    res0 = out / "test-dask" / "tiny-s000000.json"
    res1 = out / "test-dask" / "tiny-s000001.json"
    run1 = scratch / "test-dask" / "tiny-s000001"
    cmd = [sys.executable, str(script), str(out), str(scratch)]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    # stop (SIGTERM) once structure 0 is done and structure 1 has a STATE.OUT
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if res0.is_file() and (run1 / "STATE.OUT").is_file():
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)
    log = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, log
    assert "interrupted" in log
    assert json.loads(res0.read_text())["status"] == "ok"
    assert not res1.exists() and (run1 / "STATE.OUT").is_file()
    assert not (run1 / "elk.pid").exists()  # Elk ended (STOP file) and was reaped
    mtime0 = res0.stat().st_mtime_ns

    # resume: structure 0 is skipped, structure 1 resumes from its STATE.OUT
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'skipped': [0]" in done.stdout and "'ok': [1]" in done.stdout
    assert res0.stat().st_mtime_ns == mtime0
    r1 = json.loads(res1.read_text())
    assert r1["status"] == "ok" and [r["tasks"] for r in r1["runs"]] == [0, 1]
    efg = np.asarray(r1["efg"])
    n = r1["scf_iterations"]  # fake EFG of atom k after n iterations: (k+1)·diag(1,1,-2)·(1+2^-n)
    f = np.array([1.0, 2.0, 3.0]) * (1 + 0.5**n)
    np.testing.assert_allclose(efg, f[:, None, None] * np.diag([1.0, 1.0, -2.0]), rtol=1e-9)
