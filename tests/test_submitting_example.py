"""The path of a new user (issue 12): README task example → entry (docs/submitting.md) → show.

Runs the README's "Bring your own model" block and then the entry block of
docs/submitting.md as written, in a folder that holds a ``leaderboard/``
folder, and checks that ``ltoefg leaderboard show`` lists the model with the
CV score the README example prints.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from test_readme_example import readme_example

from ltoefg.cli import main

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- entry-example -->", "<!-- /entry-example -->"


def entry_example() -> str:
    """The Python block between the entry-example markers of docs/submitting.md."""
    text = (REPO / "docs" / "submitting.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, "submitting.md lost its markers"
    block = text[text.index(START) + len(START) : text.index(END)].strip()
    match = re.fullmatch(r"```python\n(.*)\n```", block, re.S)
    assert match, "the entry example must be exactly one ```python block"
    return match.group(1)


def test_task_to_entry_to_leaderboard_show(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "leaderboard").mkdir()
    code = readme_example() + "\n" + entry_example()
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    cv, std, test = map(float, re.findall(r"(\d\.\d{3})", res.stdout.splitlines()[0]))
    entry = tmp_path / "leaderboard" / "entries" / "pcm-v2__random__per-wyckoff-mean-tensor.json"
    assert res.stdout.splitlines()[1] == str(Path("leaderboard/entries") / entry.name)
    assert entry.is_file()

    assert main(["leaderboard", "show", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "per-Wyckoff mean tensor" in line)
    cells = row.split()
    assert cells[0] == "1" and f"{float(cells[4]):.3f}" == f"{test:.3f}"  # overall = Li score
    assert f"{float(cells[6]):.3f} ± " in row and f"{float(cells[6]):.3f}" == f"{cv:.3f}"
    assert f"{float(cells[8]):.3f}" == f"{std:.3f}" and "(5 folds)" in row
    assert row.rstrip().endswith(" 10")  # fitted parameters
    assert "    The mean tensor of each Wyckoff site (README example).\n    code: https://" in out

    assert main(["leaderboard", "show", "--root", str(tmp_path), "--nucleus", "Li"]) == 0
    detail = capsys.readouterr().out
    assert "pcm-v2, split random, nucleus Li — point-charge labels, not DFT" in detail
