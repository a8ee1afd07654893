"""The README's "Bring your own model" example runs as written and prints what it says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- byo-example -->", "<!-- /byo-example -->"


def readme_example() -> str:
    """The Python block between the byo-example markers of README.md."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, "README lost its example markers"
    block = text[text.index(START) + len(START) : text.index(END)].strip()
    match = re.fullmatch(r"```python\n(.*)\n```", block, re.S)
    assert match, "the example must be exactly one ```python block"
    return match.group(1)


def test_byo_example_runs_and_prints_its_score(tmp_path: Path) -> None:
    code = readme_example()
    assert "ltoefg.Task(" in code and "task.record(" in code
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    printed = re.fullmatch(
        r"CV score (\d\.\d{3}) ± (\d\.\d{3}), test score (\d\.\d{3}) \(lower is better\)\n",
        res.stdout,
    )
    assert printed, res.stdout
    cv, std, test = map(float, printed.groups())
    # the README quotes this output: keep them in step
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"It prints `{res.stdout.strip()}`" in readme
    assert 0 < std < cv and 0.5 < test < 1.5  # a trivial model: far from 0, not absurd
    with h5py.File(tmp_path / "predictions.h5", "r") as f:
        assert f.attrs["model"].decode() == "per-Wyckoff mean tensor"
        assert list(f) == ["Li"]
