"""Dask LocalCluster labelling of two tiny cells end to end, and a resume after a kill.

Skipped where abinit or dask.distributed are not installed.
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

from ltoefg.dft.provenance import DEFAULT_PSP_DIR

pytest.importorskip("dask.distributed")
_MISSING = shutil.which("abinit") is None or shutil.which("mpirun") is None
pytestmark = pytest.mark.skipif(
    _MISSING or not DEFAULT_PSP_DIR.is_dir(),
    reason="abinit, mpirun or abinit-data not installed",
)

SCRIPT = """
import sys
import numpy as np
from ase import Atoms
from ltoefg.dft.distribute import label_structures
from ltoefg.dft.errors import DftInterruptedError
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.runner import RunOptions

def li2o(n, seed):
    a = 4.61
    cell = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    at = Atoms("OLi2", cell=cell, scaled_positions=[[0, 0, 0], [0.25] * 3, [0.75] * 3], pbc=True)
    at = at.repeat((n, 1, 1))
    at.positions += np.random.default_rng(seed).uniform(-0.08, 0.08, size=(len(at), 3))
    return at

# structure 0: 3 atoms (seconds); structure 1: 6 atoms, no symmetry (tens of seconds)
structures = {0: li2o(1, 0), 1: li2o(2, 1)}
p = PRODUCTION.replace(
    "test-dask", ecut_ha=12.0, pawecutdg_ha=24.0, kmesh=(3, 3, 3), use_symmetry=False,
    checkpoint_every=1, tolvrs=1e-12,
)
# resume_max_nres2=1e9: resume from the wavefunctions however early the stop (exercises it)
try:
    s = label_structures(structures, "tiny", p, sys.argv[1], scratch=sys.argv[2],
                         options=RunOptions(nproc=2, timeout_s=600, resume_max_nres2=1e9),
                         progress=False)
except DftInterruptedError as exc:
    print("interrupted:", exc, flush=True)
    sys.exit(130)
print("summary", s, flush=True)
"""


def _abinit_alive(workdir: Path) -> bool:
    pid_file = workdir / "mpirun.pid"
    if not pid_file.is_file():
        return False
    try:
        os.killpg(int(pid_file.read_text()), 0)
    except (ProcessLookupError, ValueError):
        return False
    return True


def test_localcluster_runs_two_cells_and_resumes_after_kill(tmp_path):
    script = tmp_path / "label.py"
    script.write_text(SCRIPT)
    out, scratch = tmp_path / "out", tmp_path / "scratch"
    res0 = out / "test-dask" / "tiny-s000000.json"
    res1 = out / "test-dask" / "tiny-s000001.json"
    run1 = scratch / "test-dask" / "tiny-s000001"
    cmd = [sys.executable, str(script), str(out), str(scratch)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # stop (SIGTERM) once structure 0 is done and structure 1 has a density checkpoint
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if res0.is_file() and list(run1.glob("attempt-01t_DEN*")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGTERM)
    log = proc.communicate(timeout=60)[0]
    assert proc.returncode == 130, log
    assert "interrupted" in log
    assert json.loads(res0.read_text())["status"] == "ok"
    assert not res1.exists()
    assert not _abinit_alive(run1)  # ABINIT's process group was killed
    mtime0 = res0.stat().st_mtime_ns

    # resume: structure 0 is skipped, structure 1 restarts from its checkpoint
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'skipped': [0]" in done.stdout and "'ok': [1]" in done.stdout
    assert res0.stat().st_mtime_ns == mtime0
    r1 = json.loads(res1.read_text())
    assert r1["status"] == "ok" and len(r1["attempts"]) == 2
    assert r1["attempts"][1]["restart_from"].startswith("attempt-01")
    # the stop was graceful (abinit.exit): ABINIT wrote its wavefunctions, the rerun used them
    assert r1["attempts"][1]["restart_from"] == "attempt-01o_WFK"
    assert 'getwfk_filepath "' in (run1 / "attempt-02.abi").read_text()
    assert not list(run1.glob("*_WFK"))  # removed once the result is ok
    efg = np.asarray(r1["efg"])
    assert efg.shape == (6, 3, 3) and np.isfinite(efg).all()
    np.testing.assert_allclose(efg, efg.transpose(0, 2, 1), atol=1e-3)
