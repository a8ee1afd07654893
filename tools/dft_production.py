"""Production batch of dft-pbe-v1: label the frozen selection, commit each result as it lands.

    setsid nohup .venv/bin/python tools/dft_production.py > /work/dft-scratch/production.log 2>&1 &

Runs ``label_structures`` (LocalCluster, one worker × ``mpirun -np 2``) over
:data:`ltoefg.dft.selection.DFT_PBE_V1_IDS` with the production protocol,
writes results to ``dft-results/<protocol>/`` and commits every new result file
to git (only that file). Stopped (SIGTERM) or killed, it resumes where it
stopped when started again; failed structures are retried once per start
(they resume from their density checkpoint).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import ltoefg
from ltoefg.dft.distribute import label_structures, result_path
from ltoefg.dft.errors import DftInterruptedError
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.runner import RunOptions
from ltoefg.dft.selection import DFT_PBE_V1_IDS

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "dft-results"
DATASET = "pcm-v2"


def git_commit(path: Path, message: str, tries: int = 30) -> None:
    """Commit one file (only it), retrying while another git process holds the index lock."""
    rel = str(path.relative_to(REPO))
    for _ in range(tries):
        add = subprocess.run(["git", "add", rel], cwd=REPO, capture_output=True, text=True)
        if add.returncode == 0:
            c = subprocess.run(
                ["git", "commit", "-q", "-m", message, "--", rel],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if c.returncode == 0 or "nothing to commit" in c.stdout + c.stderr:
                return
            err = c.stderr
        else:
            err = add.stderr
        if "index.lock" not in err:
            print(f"git: {err.strip()}", flush=True)
            return
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scratch", type=Path, default=Path("/work/dft-scratch/production"))
    p.add_argument("--np", type=int, default=2, dest="nproc")
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.add_argument("--no-commit", action="store_true")
    args = p.parse_args(argv)
    ds = ltoefg.load(DATASET)
    structures = {i: ds.atoms(i) for i in DFT_PBE_V1_IDS}

    def on_result(sid: int, res: dict) -> None:
        path = result_path(OUT, PRODUCTION.name, DATASET, sid)
        print(
            f"{time.strftime('%H:%M:%S')} structure {sid}: {res['status']} "
            f"{res.get('reason', '')} steps {res.get('scf_steps_total')} "
            f"wall {res.get('wall_time_s_total')} s",
            flush=True,
        )
        if not args.no_commit:
            git_commit(path, f"dft-results: {DATASET} structure {sid} ({PRODUCTION.name})")

    try:
        summary = label_structures(
            structures,
            DATASET,
            PRODUCTION,
            OUT,
            scratch=args.scratch,
            options=RunOptions(nproc=args.nproc, timeout_s=args.timeout, keep_density=False),
            retry_failed=True,
            progress=False,
            on_result=on_result,
        )
    except DftInterruptedError as exc:
        print(f"stopped: {exc}", flush=True)
        return 130
    print(summary, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
