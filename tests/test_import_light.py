"""``import ltoefg`` (and its CLI) needs no featomic, matplotlib, dask or network."""

from __future__ import annotations

import subprocess
import sys

BLOCKER = """
import builtins, socket, sys
real_import = builtins.__import__
def guarded(name, *args, **kwargs):
    if name.split(".")[0] in {"featomic", "metatensor", "matplotlib", "dask", "distributed"}:
        raise ImportError(f"blocked heavy import: {name}")
    return real_import(name, *args, **kwargs)
builtins.__import__ = guarded
def no_network(*args, **kwargs):
    raise RuntimeError("network access at import time")
socket.socket.connect = no_network
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + code], capture_output=True, text=True, timeout=120
    )


def test_import_without_heavy_dependencies_or_network() -> None:
    res = run(
        "import ltoefg, ltoefg.cli, ltoefg.evaluation.score, ltoefg.leaderboard\n"
        "import ltoefg.application.classify, ltoefg.application.large_models\n"
        "import ltoefg.application.predict, ltoefg.application.banner\n"
        "import ltoefg.application.trajectory, ltoefg.application.dynamics\n"
        "import ltoefg.application.dynamics_outputs, ltoefg.application.pointcharge_model\n"
        "import ltoefg.application.synthetic, ltoefg.application.chemiscope_view\n"
        "ds = ltoefg.load('pcm-v1')\n"
        "heavy = [m for m in sys.modules if m.startswith(('featomic', 'matplotlib', 'dask'))]\n"
        "print(ds.n_sites, sorted(heavy))"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["68880", "[]"]


def test_cli_help_without_heavy_dependencies() -> None:
    res = run("from ltoefg.cli import main\nraise SystemExit(main(['--help']))")
    assert res.returncode == 0, res.stderr
    for sub in ("template", "evaluate", "leaderboard", "fetch", "info", "generate", "build"):
        assert sub in res.stdout
