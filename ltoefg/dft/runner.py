"""Run ABINIT on one structure: per-structure folder, timeout, clean stop, resume, result.

Folder layout (``workdir``)::

    attempt-01.abi / .abo / .log     input, ABINIT output, ABINIT log of each attempt
    attempt-01t_DEN_000{0,1}         density checkpoints, every ``checkpoint_every`` SCF steps
    attempt-01o_DEN                  final density
    attempt-01o_WFK                  wavefunctions, written when the SCF did not converge
    mpirun.pid                       process group of the running attempt
    result.json                      the result (written atomically, last)

Stopping (SIGTERM/SIGINT, :func:`request_stop`, or the timeout) is graceful
first: the runner creates ``abinit.exit`` (the inputs set ``chkexit 1``), ABINIT
ends after the current SCF step and writes its wavefunctions (``prtwf -1``);
only if it has not ended within ``stop_grace_s`` is its process group killed
(SIGTERM, then SIGKILL). ABINIT also gets SIGTERM if the runner dies
(``setpriv --pdeathsig``). The next call starts a new attempt from the
wavefunctions of the newest cleanly ended attempt (``getwfk_filepath``) if that
attempt had got its squared residual below ``resume_max_nres2``; otherwise it
starts afresh — or, with ``resume_from_density``, from the newest complete
density checkpoint (``getden_filepath``). That policy is measured (docs/dft.md
§5.2): ABINIT 9.6 restarts the SCF without its Pulay history, and from a
density also without wavefunctions. On LTO (structure 0, Γ, 10 Ha, 35 SCF steps
from scratch) a restart from the wavefunctions of step 25 (nres2 1e-4) needed 21
more steps, from those of step 11 (nres2 1.4) 41, and from the density of
either step more than 40; on a gapped 6-atom Li₂O cell the density restart
saved a little (30 against 35). A run that fails or does not converge gets a
``"failed"`` result with the reason (a retry resumes it); only ``"ok"`` results
enter data sets.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ase import Atoms

from ltoefg.dask_cluster import stop_signals
from ltoefg.dft import provenance
from ltoefg.dft.errors import AbinitOutputError, DftError, DftInterruptedError
from ltoefg.dft.inputs import check_structure, parse_structure, write_input
from ltoefg.dft.outputs import AbinitOutput, read_output
from ltoefg.dft.protocol import Protocol
from ltoefg.dft.results import (
    RESULT_SCHEMA,
    STATUS_FAILED,
    STATUS_OK,
    check_matches,
    read_result,
    structure_record,
    write_json_atomic,
)

__all__ = ["RunOptions", "request_stop", "run_structure", "stop_requested"]

RESULT_FILE = "result.json"
PID_FILE = "mpirun.pid"
EXIT_FILE = "abinit.exit"
_ATTEMPT = re.compile(r"^attempt-(\d+)\.abi$")
_STOP = threading.Event()


def request_stop() -> None:
    """Ask every running :func:`run_structure` of this process to stop (kills ABINIT)."""
    _STOP.set()


def stop_requested() -> bool:
    """Whether :func:`request_stop` was called (or a stop signal arrived)."""
    return _STOP.is_set()


@dataclass(frozen=True)
class RunOptions:
    """How to run ABINIT (not part of the label: results do not depend on it).

    Attributes
    ----------
    nproc : int
        MPI ranks (``mpirun -np``); 1 runs ``abinit`` without mpirun.
    timeout_s : float or None
        Wall-time limit of one attempt, s (None: no limit). A timed-out run is
        recorded as failed and keeps its checkpoint (a retry resumes it).
    abinit, mpirun : str
        Executables.
    psp_dir : str or None
        PAW dataset folder (default: ``$LTOEFG_ABINIT_PSP_DIR`` or Debian's).
    keep_density : bool
        Keep the final density file.
    keep_wavefunctions : bool
        Write and keep the final wavefunctions (``prtwf 1``; ~100 MB for LTO at
        3×3×1), so a neighbouring setting can start from them.
    stop_grace_s : float
        How long a stop waits for ABINIT to end cleanly (and write its
        wavefunctions) before killing it, s.
    resume_max_nres2 : float
        Resume from the wavefunctions of an interrupted attempt only if its last
        squared residual was below this; an earlier stop restarts afresh (cheaper).
    resume_from_density : bool
        Without usable wavefunctions, start from the newest density checkpoint
        instead of afresh (off: on LTO it costs more SCF steps than a fresh start).
    """

    nproc: int = 2
    timeout_s: float | None = None
    abinit: str = "abinit"
    mpirun: str = "mpirun"
    psp_dir: str | None = None
    keep_density: bool = True
    keep_wavefunctions: bool = False
    stop_grace_s: float = 180.0
    resume_max_nres2: float = 1e-2
    resume_from_density: bool = False


def _attempts(workdir: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in workdir.iterdir() if (m := _ATTEMPT.match(p.name)))


def _completed(abo: Path) -> bool:
    try:
        return "+Overall time at end" in abo.read_text(errors="replace")
    except OSError:
        return False


def _last_residual(abo: Path) -> float | None:
    try:
        return read_output(abo).final_residual
    except AbinitOutputError:
        return None


def latest_checkpoint(
    workdir: Path, max_nres2: float = float("inf"), use_density: bool = True
) -> Path | None:
    """The file a new attempt should start from, or None (start afresh).

    The newest wavefunction file (``attempt-NNo_WFK``) of an attempt that ended
    cleanly (its output is complete, so the file is whole) with its last
    squared residual ``nres2`` ≤ ``max_nres2``; else, if ``use_density``, the
    newest complete density file. Density checkpoints alternate between two
    files, so one cut short by a kill is smaller than its sibling; only files of
    the largest size are candidates.
    """
    wfk = []
    for p in workdir.glob("attempt-*o_WFK"):
        abo = workdir / (p.name[: -len("o_WFK")] + ".abo")
        res = _last_residual(abo) if _completed(abo) else None
        if p.is_file() and res is not None and res <= max_nres2:
            wfk.append(p)
    if wfk:
        return max(wfk, key=lambda p: p.stat().st_mtime)
    if not use_density:
        return None
    files = [p for p in workdir.glob("attempt-*_DEN*") if p.is_file() and p.stat().st_size > 0]
    if not files:
        return None
    size = max(p.stat().st_size for p in files)
    return max((p for p in files if p.stat().st_size == size), key=lambda p: p.stat().st_mtime)


def _command(options: RunOptions, input_file: str) -> tuple[list[str], dict[str, str]]:
    abinit = provenance.find_executable(options.abinit)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if options.nproc <= 1:
        cmd = [abinit, input_file]
    else:
        mpirun = provenance.find_executable(options.mpirun)
        cmd = [mpirun, "-np", str(options.nproc), "--bind-to", "none"]
        if options.nproc > (os.cpu_count() or 1):
            cmd.append("--oversubscribe")
        cmd += [abinit, input_file]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    setpriv = provenance.shutil.which("setpriv")
    if setpriv is not None:  # ABINIT gets SIGTERM if the runner dies
        cmd = [setpriv, "--pdeathsig", "TERM", "--", *cmd]
    return cmd, env


def _kill_group(pgid: int, grace_s: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)
            time.sleep(0.2)
        os.killpg(pgid, signal.SIGKILL)


def _kill_stale(workdir: Path) -> None:
    """Kill an ABINIT process group left running by a runner that died."""
    pid_file = workdir / PID_FILE
    if not pid_file.is_file():
        return
    try:
        pgid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pgid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        cmdline = ""
    if str(workdir) in cmdline or "abinit" in cmdline:
        _kill_group(pgid)
    pid_file.unlink(missing_ok=True)


def _error_message(workdir: Path, stem: str) -> str:
    for name in (f"{stem}.log", f"{stem}.abo"):
        path = workdir / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        m = re.search(r"--- !ERROR.*?message:\s*\|?\s*\n(.*?)\n(?:\S|\.\.\.)", text, re.S)
        if m:
            return " ".join(m.group(1).split())[:400]
    return "no ABINIT error message"


@contextlib.contextmanager
def _stop_on_signals():
    """In the main thread, turn SIGTERM/SIGINT into a stop request while ABINIT runs."""
    with stop_signals(_STOP.set):
        yield


def _end_gracefully(proc: subprocess.Popen, workdir: Path, grace_s: float) -> None:
    """Ask ABINIT to stop after this SCF step (``abinit.exit``); kill it if it does not."""
    (workdir / EXIT_FILE).touch()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait()


def _run_attempt(workdir: Path, stem: str, options: RunOptions) -> tuple[int | None, bool, float]:
    """Run one ABINIT attempt; returns (return code or None, timed out, wall s)."""
    cmd, env = _command(options, f"{stem}.abi")
    (workdir / EXIT_FILE).unlink(missing_ok=True)  # a stale one would stop ABINIT at once
    t0 = time.monotonic()
    with open(workdir / f"{stem}.log", "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    (workdir / PID_FILE).write_text(f"{proc.pid}\n")
    timed_out = False
    try:
        with _stop_on_signals():
            while True:
                try:
                    proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if _STOP.is_set():
                    _end_gracefully(proc, workdir, options.stop_grace_s)
                    raise DftInterruptedError(
                        f"{workdir}: ABINIT was stopped; run again to resume from its checkpoint."
                    )
                if options.timeout_s is not None and time.monotonic() - t0 > options.timeout_s:
                    timed_out = True
                    _end_gracefully(proc, workdir, options.stop_grace_s)
                    break
    except BaseException:
        if proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait()
        raise
    finally:
        (workdir / PID_FILE).unlink(missing_ok=True)
        (workdir / EXIT_FILE).unlink(missing_ok=True)
    return proc.returncode, timed_out, time.monotonic() - t0


def _attempt_record(workdir: Path, k: int) -> dict[str, Any]:
    stem = f"attempt-{k:02d}"
    abi, abo, log = (workdir / f"{stem}{ext}" for ext in (".abi", ".abo", ".log"))
    rec: dict[str, Any] = {"attempt": k, "scf_steps": 0, "final_residual": None}
    restart = re.search(r'^get(?:den|wfk)_filepath "(.*)"', abi.read_text(), re.M)
    rec["restart_from"] = Path(restart.group(1)).name if restart else None
    ends = [p.stat().st_mtime for p in (abo, log) if p.is_file()]
    rec["wall_time_s"] = round(max(ends) - abi.stat().st_mtime, 1) if ends else 0.0
    if abo.is_file():
        with contextlib.suppress(AbinitOutputError):
            out = read_output(abo)
            rec.update(
                scf_steps=out.scf_steps,
                final_residual=out.final_residual,
                converged=out.converged,
                completed=out.completed,
                cpu_time_s=out.cpu_time_s,
            )
    return rec


def _existing_result(workdir: Path, atoms: Atoms, protocol: Protocol) -> dict[str, Any] | None:
    path = workdir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        res = read_result(path)
        check_matches(res, atoms)
    except AbinitOutputError:
        return None
    if res["protocol"]["name"] != protocol.name or res["status"] != STATUS_OK:
        return None
    return res


def run_structure(
    atoms: Atoms,
    protocol: Protocol,
    workdir: str | Path,
    options: RunOptions | None = None,
    key: dict[str, Any] | None = None,
    start_from: str | Path | None = None,
) -> dict[str, Any]:
    """Compute (or resume, or return the finished) DFT EFG result of one structure.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure; its atom order is the order of the result's tensors.
    protocol : Protocol
        Settings.
    workdir : str or pathlib.Path
        The structure's folder (created if needed).
    options : RunOptions, optional
        Ranks, timeout, executables.
    key : dict, optional
        What the structure is (e.g. ``{"dataset": "pcm-v2", "structure": 7}``); stored.
    start_from : str or pathlib.Path, optional
        A wavefunction (``*_WFK``) or density (``*_DEN``) file to start from when
        the folder has no checkpoint of its own (e.g. the same structure at a
        neighbouring setting).

    Returns
    -------
    dict
        The result (also in ``workdir/result.json``); ``status`` is ``"ok"`` or
        ``"failed"`` (with ``reason``).

    Raises
    ------
    DftInterruptedError
        If stopped by :func:`request_stop` or SIGTERM/SIGINT (no result is written;
        call again to resume).
    AbinitNotFoundError, DftInputError
        If ABINIT or the datasets are missing, or the structure cannot be computed.
    """
    options = options or RunOptions()
    workdir = Path(workdir).resolve()
    existing = _existing_result(workdir, atoms, protocol) if workdir.is_dir() else None
    if existing is not None:
        return existing
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DftError(
            f"{workdir}: cannot create the run folder ({exc.strerror}); choose a writable one."
        ) from None
    check_structure(atoms, protocol)
    symbols = sorted(set(atoms.get_chemical_symbols()))
    datasets = provenance.dataset_files(protocol, options.psp_dir, symbols)
    version = provenance.abinit_version(options.abinit)
    psp = provenance.psp_dir(options.psp_dir)
    _kill_stale(workdir)
    (workdir / RESULT_FILE).unlink(missing_ok=True)

    done = _attempts(workdir)
    k = (done[-1] + 1) if done else 1
    stem = f"attempt-{k:02d}"
    restart = latest_checkpoint(workdir, options.resume_max_nres2, options.resume_from_density)
    if restart is None and start_from is not None and Path(start_from).is_file():
        restart = Path(start_from).resolve()
    is_wfk = restart is not None and restart.name.endswith("_WFK")
    title = f"ltoefg DFT EFG run; key {key}" if key else "ltoefg DFT EFG run"
    text = write_input(
        atoms,
        protocol,
        psp,
        restart_density=None if is_wfk else restart,
        restart_wavefunctions=restart if is_wfk else None,
        title=title,
        prtwf=1 if options.keep_wavefunctions else -1,
    )
    (workdir / f"{stem}.abi").write_text(text)
    started = time.time()
    rc, timed_out, wall = _run_attempt(workdir, stem, options)

    structure = parse_structure(text)
    attempts = [_attempt_record(workdir, i) for i in _attempts(workdir)]
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "key": key or {},
        "structure": structure_record(atoms),
        "protocol": protocol.to_dict(),
        "abinit_version": version,
        "datasets": [{k2: d[k2] for k2 in ("element", "file", "sha256")} for d in datasets],
        "run": asdict(options) | {"command": _command(options, f"{stem}.abi")[0]},
        "host": provenance.host_info(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "attempts": attempts,
        "scf_steps_total": int(sum(a["scf_steps"] for a in attempts)),
        "wall_time_s_total": round(sum(a["wall_time_s"] for a in attempts), 1),
        "wall_time_s": round(wall, 1),
        "workdir": str(workdir),
    }
    out: AbinitOutput | None = None
    reason = ""
    try:
        out = read_output(workdir / f"{stem}.abo", structure)
    except AbinitOutputError as exc:
        reason = str(exc)
    if out is not None:
        result.update(
            scf_steps=out.scf_steps,
            final_residual=out.final_residual,
            converged=out.converged,
            cpu_time_s=out.cpu_time_s,
        )
    if timed_out:
        reason = f"timed out after {options.timeout_s:g} s (checkpoint kept; retry to resume)"
    elif rc != 0:
        reason = f"abinit exited with status {rc}: {_error_message(workdir, stem)}"
    elif out is None:
        pass
    elif not out.completed:
        reason = "the ABINIT output is incomplete"
    elif not out.converged:
        reason = (
            f"SCF not converged in {out.scf_steps} steps (nres2 {out.final_residual:.2e} > "
            f"tolvrs {protocol.tolvrs:g}); retry to continue from the density"
        )
    elif out.efg is None or out.efg_pointcharge is None:
        reason = "the output has no EFG (total and point-charge) section"
    if reason:
        result.update(status=STATUS_FAILED, reason=reason)
    else:
        assert out is not None and out.efg is not None and out.efg_pointcharge is not None
        result.update(
            status=STATUS_OK,
            efg=out.efg.tolist(),
            efg_pointcharge=out.efg_pointcharge.tolist(),
        )
        for p in workdir.glob("attempt-*t_DEN*"):
            p.unlink(missing_ok=True)
        for p in workdir.glob("attempt-*o_WFK"):
            if not (options.keep_wavefunctions and p.name.startswith(stem)):
                p.unlink(missing_ok=True)
        if not options.keep_density:
            for p in workdir.glob("attempt-*o_DEN"):
                p.unlink(missing_ok=True)
    write_json_atomic(workdir / RESULT_FILE, result)
    return result
