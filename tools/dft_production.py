"""Production batch of dft-pbe-v1: label the frozen selection, commit each result as it lands.

    setsid nohup .venv/bin/python tools/dft_production.py > /work/dft-scratch/production.log 2>&1 &

Runs ``label_structures`` (LocalCluster, one worker, Elk on ``--threads`` OpenMP threads) over
:data:`ltoefg.dft.selection.DFT_PBE_V1_IDS` with the production protocol,
writes results to ``dft-results/<protocol>/`` and commits every new result file
to git (only that file). Stopped (SIGTERM) or killed, it resumes where it
stopped when started again; unconverged and failed structures are retried once
per start (they resume from their STATE.OUT).
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
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--timeout", type=float, default=3 * 3600)
    p.add_argument("--no-commit", action="store_true")
    args = p.parse_args(argv)
    ds = ltoefg.load(DATASET)
    structures = {i: ds.atoms(i) for i in DFT_PBE_V1_IDS}

    def on_result(sid: int, res: dict) -> None:
        path = result_path(OUT, PRODUCTION.name, DATASET, sid)
        print(
            f"{time.strftime('%H:%M:%S')} structure {sid}: {res['status']} "
            f"{res.get('reason', '')} SCF iterations {res.get('scf_iterations')} "
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
            threads=args.threads,
            timeout=args.timeout,
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
