"""Run Elk on one structure: per-structure folder, EFG stop, timeout, clean stop, resume, result.

Folder layout (``folder``)::

    elk.in              input of the current step (tasks 0 or 1: SCF; 115: EFG)
    STATE.OUT, *.OUT    Elk's files (STATE.OUT after every SCF iteration)
    INFO-NN.OUT         INFO.OUT of SCF run NN (Elk overwrites INFO.OUT)
    elk.log             Elk's standard output of the current step
    efg-monitor/        the monitor's side folder (elk.in with tasks 115, the
                        last whole STATE.OUT snapshot, its EFG.OUT)
    run-state.json      SCF runs so far and the EFG of every checked iteration
    elk.pid             process group of the running Elk
    result.json         the result (written atomically, last)

The SCF starts from atomic densities (tasks 0), or resumes from the folder's
STATE.OUT (tasks 1), or — with ``warm_start`` and no state of its own — from a
copy of another structure's converged STATE.OUT (same species and atom order;
tasks 1). While it runs, :class:`~ltoefg.dft.monitor.EfgMonitor` computes the
EFG after every iteration and, when the protocol's EFG-change criterion holds,
creates ``STOP``: Elk ends the iteration in progress and one more, writes
STATE.OUT and exits. Then
task 115 in the run folder gives the final EFG. A run that Elk ends as
converged (``epspot``) or that the EFG stop ended is ``"ok"``.

Stopping: on the timeout the runner creates ``STOP`` and waits
``stop_grace_s`` (which must cover two iterations) for Elk to exit, then
kills its process group; the result is ``"unconverged"`` (rerun to resume). On SIGTERM/SIGINT or
:func:`request_stop` it does the same but writes no result and raises
:class:`~ltoefg.dft.errors.DftInterruptedError`. A killed Elk may leave
STATE.OUT half written; the runner then restores the monitor's last whole
snapshot. Elk errors (an ``Error(…)`` line, a crash) give ``"failed"``. Only
``"ok"`` results enter data sets.

Ingest: a folder whose Elk run already finished with the same protocol and
structure (``elk.in`` equal to the writer's, apart from tasks and comments;
``EFG.OUT`` and ``GEOMETRY.OUT`` present) is only parsed and recorded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ltoefg.dask_cluster import stop_signals
from ltoefg.dft import provenance
from ltoefg.dft.efgstop import EfgPoint, change_history
from ltoefg.dft.errors import DftError, DftInterruptedError, DftOutputError
from ltoefg.dft.inputs import (
    check_geometry,
    check_structure,
    elk_order,
    parse_geometry,
    write_elk_in,
)
from ltoefg.dft.monitor import (
    SIDE_FOLDER,
    STOP_FILE,
    EfgMonitor,
    elk_efg_of_side,
    run_elk_task,
)
from ltoefg.dft.outputs import ElkScf, read_efg, read_info, rms_by_loop
from ltoefg.dft.protocol import Protocol
from ltoefg.dft.results import (
    RESULT_SCHEMA,
    STATUS_FAILED,
    STATUS_OK,
    STATUS_UNCONVERGED,
    check_matches,
    read_result,
    structure_record,
    write_json_atomic,
)

__all__ = ["RESULT_FILE", "request_stop", "reset_stop", "run_structure", "stop_requested"]

RESULT_FILE = "result.json"
STATE_FILE = "run-state.json"
PID_FILE = "elk.pid"
_STOP = threading.Event()

# How an SCF run ended (``end`` of a run record).
END_CONVERGED = "converged"  # Elk's epspot/epsengy targets
END_EFG = "efg-stop"  # the EFG-change criterion (STOP file)
END_MAXSCL = "maxscl"  # Elk ran out of iterations
END_TIMEOUT = "timeout"
END_INTERRUPTED = "interrupted"
END_ERROR = "error"


def request_stop() -> None:
    """Ask every running :func:`run_structure` of this process to stop cleanly."""
    _STOP.set()


def reset_stop() -> None:
    """Forget an earlier stop request (a new batch or interactive call starts)."""
    _STOP.clear()


def stop_requested() -> bool:
    """Whether :func:`request_stop` was called (or a stop signal arrived)."""
    return _STOP.is_set()


def _kill_group(pgid: int, grace_s: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)
            time.sleep(0.2)
        os.killpg(pgid, signal.SIGKILL)


def _kill_stale(folder: Path) -> None:
    """Kill an Elk process group left running in ``folder`` by a runner that died."""
    pid_file = folder / PID_FILE
    if not pid_file.is_file():
        return
    try:
        pgid = int(pid_file.read_text().split()[0])
        cwd = os.path.realpath(f"/proc/{pgid}/cwd")
    except (OSError, ValueError, IndexError):
        cwd = ""
    if cwd == str(folder):
        _kill_group(pgid)
    pid_file.unlink(missing_ok=True)


def _load_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    if path.is_file():
        import json

        try:
            state = json.loads(path.read_text())
            if isinstance(state, dict) and isinstance(state.get("runs"), list):
                return state
        except ValueError:
            pass
    return {"runs": [], "history": [], "scf_end": None}


def _comparable(text: str) -> str:
    """elk.in text without comments and the tasks block (for the ingest check)."""
    text = re.sub(r"^tasks\s*\n(?:[ \t]*\d+[ \t]*\n)+\s*", "", text, flags=re.M)
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("!")).strip()


def _error_line(folder: Path) -> str | None:
    log = folder / "elk.log"
    if not log.is_file():
        return None
    for ln in log.read_text(errors="replace").splitlines():
        if ln.startswith("Error("):
            return ln.strip()
    return None


def _restore_snapshot(folder: Path) -> None:
    """After a kill, put the monitor's last whole STATE.OUT back (if it exists)."""
    snap = folder / SIDE_FOLDER / "STATE.OUT"
    if snap.is_file():
        shutil.copyfile(snap, folder / "STATE.OUT")


def _command(executable: str) -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is not None:  # Elk gets SIGTERM if the runner dies
        return [setpriv, "--pdeathsig", "TERM", "--", executable]
    return [executable]


def _stop_elk(
    proc: subprocess.Popen, folder: Path, grace_s: float, monitor: EfgMonitor, poll_s: float
) -> bool:
    """STOP file, wait for a clean exit; kill after ``grace_s``. True if Elk exited by itself.

    Elk reacts to STOP at the end of an iteration and then runs one more before
    it writes STATE.OUT and exits (measured with Elk 8.4.30), so the grace
    period must cover two iterations. Meanwhile the monitor keeps whole
    snapshots of STATE.OUT (no EFGs), which replace a half-written one after a kill.
    """
    (folder / STOP_FILE).touch()
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            proc.wait(timeout=poll_s)
            return True
        except subprocess.TimeoutExpired:
            monitor.poll(compute=False)
    _kill_group(proc.pid)
    proc.wait()
    _restore_snapshot(folder)
    return False


def _run_scf(
    folder: Path,
    atoms: Atoms,
    protocol: Protocol,
    executable: str,
    threads: int,
    timeout_s: float | None,
    state: dict[str, Any],
    poll_s: float,
    stop_grace_s: float,
    side_timeout_s: float,
) -> tuple[str, float]:
    """One SCF run (tasks 0 or 1) under the monitor; returns (how it ended, wall s)."""
    symbols = atoms.get_chemical_symbols()
    resume = (folder / "STATE.OUT").is_file()
    text = write_elk_in(atoms, protocol, tasks=(1,) if resume else (0,))
    (folder / "elk.in").write_text(text)
    side = folder / SIDE_FOLDER
    side.mkdir(exist_ok=True)
    (side / "elk.in").write_text(write_elk_in(atoms, protocol, tasks=(115,)))
    for name in (STOP_FILE, "RUNNING", "EFG.OUT", "INFO.OUT"):
        (folder / name).unlink(missing_ok=True)

    history = [EfgPoint.from_dict(p) for p in state["history"]]
    offset = sum(r["iterations"] for r in state["runs"])

    def save() -> None:
        state["history"] = [p.to_dict() for p in history]
        write_json_atomic(folder / STATE_FILE, state)

    monitor = EfgMonitor(
        folder,
        symbols,
        protocol.efg_stop,
        elk_efg_of_side(executable, symbols, side_timeout_s),
        offset=offset,
        history=history,
        on_update=save,
    )
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    t0 = time.monotonic()
    end = ""
    with open(folder / "elk.log", "wb") as log:
        proc = subprocess.Popen(
            _command(executable),
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    (folder / PID_FILE).write_text(f"{proc.pid}\n")
    try:
        with stop_signals(_STOP.set):
            while True:
                try:
                    proc.wait(timeout=poll_s)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if _STOP.is_set():
                    _stop_elk(proc, folder, stop_grace_s, monitor, poll_s)
                    end = END_INTERRUPTED
                    break
                if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                    _stop_elk(proc, folder, stop_grace_s, monitor, poll_s)
                    end = END_TIMEOUT
                    break
                monitor.poll()
            if not end and proc.returncode == 0:
                monitor.poll()  # the last iteration(s) before Elk exited
    except BaseException:
        if proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait()
            _restore_snapshot(folder)
        raise
    finally:
        (folder / PID_FILE).unlink(missing_ok=True)
        (folder / STOP_FILE).unlink(missing_ok=True)
    wall = time.monotonic() - t0

    k = len(state["runs"]) + 1
    info: ElkScf | None = None
    if (folder / "INFO.OUT").is_file():
        shutil.copyfile(folder / "INFO.OUT", folder / f"INFO-{k:02d}.OUT")
        with contextlib.suppress(DftOutputError):
            info = read_info(folder / "INFO.OUT")
            rms = rms_by_loop((folder / "INFO.OUT").read_text(errors="replace"))
            history[:] = [
                EfgPoint(p.iteration, p.efg, rms.get(p.iteration - offset, p.rms_dv))
                if p.iteration > offset
                else p
                for p in history
            ]
    if not end:
        if proc.returncode != 0 or _error_line(folder) or info is None or not info.finished:
            end = END_ERROR
        elif monitor.stop_requested:
            end = END_EFG
        elif info.converged:
            end = END_CONVERGED
        else:
            end = END_MAXSCL
    state["runs"].append(
        {
            "run": k,
            "tasks": 1 if resume else 0,
            "iterations": info.iterations if info else monitor.seen,
            "final_rms_dv": info.final_rms_dv if info else None,
            "gap_ha": info.gap_ha if info else None,
            "fermi_ha": info.fermi_ha if info else None,
            "elk_version": info.version if info else None,
            "end": end,
            "exit_status": proc.returncode,
            "wall_time_s": round(wall, 1),
            "threads": threads,
            "skipped_checks": monitor.skipped,
            "efg_checks": len(monitor.efg_seconds),
            "efg_check_s_median": (
                round(float(np.median(monitor.efg_seconds)), 1) if monitor.efg_seconds else None
            ),
            "monitor_errors": monitor.errors[-3:],
        }
    )
    if end in (END_CONVERGED, END_EFG):
        state["scf_end"] = end
    save()
    return end, wall


def _ingestible(folder: Path, atoms: Atoms, protocol: Protocol) -> bool:
    """A finished Elk run of this structure and protocol, made outside the runner."""
    elk_in = folder / "elk.in"
    if not all((folder / f).is_file() for f in ("elk.in", "EFG.OUT", "GEOMETRY.OUT", "INFO.OUT")):
        return False
    expected = write_elk_in(atoms, protocol)
    return _comparable(elk_in.read_text(errors="replace")) == _comparable(expected)


def _existing_result(folder: Path, atoms: Atoms, protocol: Protocol) -> dict[str, Any] | None:
    path = folder / RESULT_FILE
    if not path.is_file():
        return None
    try:
        res = read_result(path)
        check_matches(res, atoms)
    except DftOutputError:
        return None
    if res["status"] != STATUS_OK or res["protocol"] != protocol.to_dict():
        return None
    return res


def _warm_start(folder: Path, warm_start: str | Path, atoms: Atoms) -> str:
    """Copy another structure's STATE.OUT into ``folder``; returns its path."""
    src = Path(warm_start)
    if src.is_dir():
        src = src / "STATE.OUT"
    geom = src.parent / "GEOMETRY.OUT"
    if not src.is_file() or not geom.is_file():
        raise DftError(f"{src}: no STATE.OUT with its GEOMETRY.OUT to warm-start from.")
    theirs = parse_geometry(geom.read_text(errors="replace"), str(geom)).symbols
    ours = [atoms.get_chemical_symbols()[i] for i in elk_order(atoms.get_chemical_symbols())]
    if list(theirs) != ours:
        raise DftError(
            f"{src}: a warm start needs a structure with the same species and atom order."
        )
    shutil.copyfile(src, folder / "STATE.OUT")
    return str(src.resolve())


def run_structure(
    atoms: Atoms,
    protocol: Protocol,
    folder: str | Path,
    threads: int = 2,
    timeout: float | None = None,
    key: dict[str, Any] | None = None,
    warm_start: str | Path | None = None,
    executable: str = provenance.ELK_EXECUTABLE,
    poll_s: float = 2.0,
    stop_grace_s: float = 300.0,
) -> dict[str, Any]:
    """Compute (or resume, ingest, or return the finished) Elk EFG result of one structure.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure; its atom order is the order of the result's tensors.
    protocol : Protocol
        Settings.
    folder : str or pathlib.Path
        The structure's run folder (created if needed).
    threads : int
        OpenMP threads of the SCF (the monitor's EFG runs use one).
    timeout : float, optional
        Wall-time limit of this call's SCF, s (None: none). A timed-out run is
        ``"unconverged"`` and resumes from its STATE.OUT when called again.
    key : dict, optional
        What the structure is (e.g. ``{"dataset": "pcm-v2", "structure": 7}``); stored.
    warm_start : str or pathlib.Path, optional
        STATE.OUT (or its folder, with GEOMETRY.OUT) of a converged structure
        with the same species and atom order; used only if ``folder`` has no
        STATE.OUT of its own.
    executable : str
        Elk executable.
    poll_s : float
        How often the monitor looks for a new SCF iteration, s.
    stop_grace_s : float
        How long a stop waits for Elk to end its iteration and exit, s.

    Returns
    -------
    dict
        The result (also in ``folder/result.json``); ``status`` is ``"ok"``,
        ``"unconverged"`` or ``"failed"`` (the last two with ``reason``).

    Raises
    ------
    DftInterruptedError
        If stopped by :func:`request_stop` or SIGTERM/SIGINT (no result is
        written; call again to resume from STATE.OUT).
    ElkNotFoundError, DftInputError
        If Elk or a species file is missing or differs, or the structure cannot
        be computed.
    """
    if threading.current_thread() is threading.main_thread():
        reset_stop()  # a new call from the main thread: an earlier Ctrl-C is over
    folder = Path(folder).resolve()
    existing = _existing_result(folder, atoms, protocol) if folder.is_dir() else None
    if existing is not None:
        return existing
    check_structure(atoms, protocol)
    species = provenance.species_files(protocol, sorted(set(atoms.get_chemical_symbols())))
    exe = provenance.find_executable(executable)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DftError(
            f"{folder}: cannot create the run folder ({exc.strerror}); choose a writable one."
        ) from None
    _kill_stale(folder)
    (folder / RESULT_FILE).unlink(missing_ok=True)
    started = time.time()
    state = _load_state(folder)
    ingested = not state["runs"] and _ingestible(folder, atoms, protocol)
    warm = None
    wall = 0.0
    end = state["scf_end"] or ""
    if ingested:
        end = END_CONVERGED
    elif not end:
        if warm_start is not None and not (folder / "STATE.OUT").is_file():
            warm = _warm_start(folder, warm_start, atoms)
        end, wall = _run_scf(
            folder,
            atoms,
            protocol,
            exe,
            threads,
            timeout,
            state,
            poll_s,
            stop_grace_s,
            side_timeout_s=600.0,
        )
        if end == END_INTERRUPTED:
            raise DftInterruptedError(
                f"{folder}: Elk was stopped; run again to resume from its STATE.OUT."
            )

    efg = None
    reason = ""
    if end in (END_CONVERGED, END_EFG) and not ingested:
        (folder / "EFG.OUT").unlink(missing_ok=True)
        (folder / "elk.in").write_text(write_elk_in(atoms, protocol, tasks=(115,)))
        try:
            run_elk_task(folder, exe, threads, timeout_s=3600.0, log_name="elk-efg.log")
        except DftOutputError as exc:
            reason = f"the final EFG (task 115) failed: {exc}"
    if end in (END_CONVERGED, END_EFG) and not reason:
        try:
            geom = folder / "GEOMETRY.OUT"
            check_geometry(
                parse_geometry(geom.read_text(errors="replace"), str(geom)),
                atoms,
                str(geom),
                allow_shift=True,
            )
            efg = read_efg(folder / "EFG.OUT", atoms.get_chemical_symbols())
        except (OSError, DftOutputError) as exc:
            reason = str(exc)

    runs = state["runs"]
    info = None
    if ingested:
        info = read_info(folder / "INFO.OUT")
        runs = [
            {
                "run": 1,
                "tasks": None,
                "iterations": info.iterations,
                "final_rms_dv": info.final_rms_dv,
                "gap_ha": info.gap_ha,
                "fermi_ha": info.fermi_ha,
                "elk_version": info.version,
                "end": END_CONVERGED if info.converged else END_MAXSCL,
                "wall_time_s": None,
                "threads": None,
            }
        ]
        if not info.converged:
            end, efg, reason = END_MAXSCL, None, ""
    history = [EfgPoint.from_dict(p) for p in state["history"]]
    window = protocol.efg_stop.window if protocol.efg_stop else 3
    last = runs[-1] if runs else {}
    result: dict[str, Any] = {
        "schema": RESULT_SCHEMA,
        "key": key or {},
        "structure": structure_record(atoms),
        "protocol": protocol.to_dict(),
        "elk_version": last.get("elk_version"),
        "elk_package": provenance.elk_package_version(),
        "elk_executable": exe,
        "species": [{k2: d[k2] for k2 in ("element", "file", "sha256")} for d in species],
        "linear_algebra": provenance.linear_algebra(exe),
        "host": provenance.host_info(),
        "threads": threads,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "runs": runs,
        "scf_iterations": int(sum(r["iterations"] or 0 for r in runs)),
        "final_rms_dv": last.get("final_rms_dv"),
        "gap_ha": last.get("gap_ha"),
        "fermi_ha": last.get("fermi_ha"),
        "scf_end": end,
        "efg_change_history": change_history(history, window, atoms.get_chemical_symbols()),
        "wall_time_s": round(wall, 1),
        "wall_time_s_total": round(sum(r["wall_time_s"] or 0.0 for r in runs), 1),
        "warm_start": warm,
        "ingested": ingested,
        "folder": str(folder),
    }
    if efg is not None:
        result.update(status=STATUS_OK, efg=efg.tolist())
    elif reason or end == END_ERROR:
        detail = reason or _error_line(folder) or "Elk ended without its closing line"
        result.update(status=STATUS_FAILED, reason=detail)
    else:
        result.update(
            status=STATUS_UNCONVERGED,
            reason=f"the SCF ended by {end} after {result['scf_iterations']} iterations "
            f"(RMS change {result['final_rms_dv']}); run again to resume from STATE.OUT",
        )
    write_json_atomic(folder / RESULT_FILE, result)
    return result
