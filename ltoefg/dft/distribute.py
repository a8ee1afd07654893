"""Label many structures with Dask: a LocalCluster by default, any scheduler on request.

Each structure is one Dask task that runs :func:`ltoefg.dft.runner.run_structure`
in ``<scratch>/<protocol>/<dataset>-sNNNNNN/`` on a worker and returns the
result; the client writes it atomically to ``<out>/<protocol>/<dataset>-sNNNNNN.json``
as soon as it arrives. Structures whose result file exists are skipped
(unconverged and failed ones too, unless ``retry_failed``), so a stopped batch
resumes where it stopped; an interrupted structure resumes from its STATE.OUT
in the scratch folder.

The default cluster is a ``distributed.LocalCluster`` with one worker thread
in this process (``processes=False``): Elk is a subprocess with ``threads``
OpenMP threads (default 2, both cores), so one worker thread is enough, and a
SIGTERM/SIGINT to this process stops Elk cleanly (or, if this process is
killed outright, Elk gets SIGTERM through its parent-death signal). With
``scheduler`` the tasks go to an existing cluster (e.g. started by
dask-jobqueue on SLURM); each of its workers should run one task at a time
and own ``threads`` cores, and the scratch folder must be writable on the
workers. Dask is imported only here, when called.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ase import Atoms

from ltoefg.dask_cluster import dask_client, stop_signals
from ltoefg.dft.errors import DftError, DftInputError, DftInterruptedError
from ltoefg.dft.inputs import check_structure
from ltoefg.dft.protocol import Protocol
from ltoefg.dft.results import STATUS_OK, read_result, result_name, write_json_atomic
from ltoefg.dft.runner import request_stop, reset_stop, run_structure

__all__ = ["default_scratch", "label_structures", "pending_ids", "result_path"]


def default_scratch() -> Path:
    """Default folder of the per-structure Elk runs: ``<OS cache>/ltoefg/dft-runs``."""
    import pooch

    return Path(pooch.os_cache("ltoefg")) / "dft-runs"


def result_path(out: str | Path, protocol: str, dataset: str, structure: int) -> Path:
    """Where the result of one structure goes: ``<out>/<protocol>/<dataset>-sNNNNNN.json``."""
    return Path(out) / protocol / result_name(dataset, structure)


def pending_ids(
    ids: list[int], out: str | Path, protocol: str, dataset: str, retry_failed: bool = False
) -> list[int]:
    """The ids without a result (or with a non-ok one, if ``retry_failed``), in order."""
    todo = []
    for sid in ids:
        path = result_path(out, protocol, dataset, sid)
        if not path.is_file():
            todo.append(sid)
        elif retry_failed and read_result(path)["status"] != STATUS_OK:
            todo.append(sid)
    return todo


def _writable(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".ltoefg-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise DftError(
            f"{folder}: the {what} folder is not writable ({exc.strerror}); choose another one."
        ) from None


def _task(
    atoms: Atoms,
    protocol: dict[str, Any],
    folder: str,
    threads: int,
    timeout: float | None,
    key: dict[str, Any],
) -> dict[str, Any]:
    """One Dask task: run (or resume) one structure and return its result."""
    return run_structure(
        atoms, Protocol.from_dict(protocol), folder, threads=threads, timeout=timeout, key=key
    )


def label_structures(
    structures: dict[int, Atoms],
    dataset: str,
    protocol: Protocol,
    out: str | Path,
    scratch: str | Path | None = None,
    threads: int = 2,
    timeout: float | None = None,
    scheduler: str | None = None,
    n_workers: int = 1,
    retry_failed: bool = False,
    progress: bool = True,
    on_result: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, list[int]]:
    """DFT-label structures with Dask, skipping those already done.

    Parameters
    ----------
    structures : dict
        Structure id -> ase.Atoms, in labelling order.
    dataset : str
        Name of the data set the ids belong to (e.g. ``"pcm-v2"``).
    protocol : Protocol
        DFT settings.
    out : str or pathlib.Path
        Results folder (``<out>/<protocol>/<dataset>-sNNNNNN.json``).
    scratch : str or pathlib.Path, optional
        Folder of the Elk runs (default :func:`default_scratch`); must be
        writable on the workers.
    threads : int
        OpenMP threads of Elk per structure.
    timeout : float, optional
        Wall-time limit per structure and call, s (a timed-out structure is
        recorded as ``"unconverged"``; ``retry_failed`` resumes it).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default: a
        LocalCluster with ``n_workers`` worker threads in this process.
    n_workers : int
        Workers of the LocalCluster (each runs one structure on ``threads`` cores).
    retry_failed : bool
        Run again structures whose recorded result is not ``"ok"`` (they resume
        from their STATE.OUT).
    progress : bool
        Show a progress bar.
    on_result : callable, optional
        Called with (id, result) after each result is written (e.g. to commit it).

    Returns
    -------
    dict
        ``{"ok": [...], "unconverged": [...], "failed": [...], "skipped": [...]}``
        structure ids.

    Raises
    ------
    DftInterruptedError
        If stopped by SIGTERM/SIGINT; finished results are kept, run again to resume.
    """
    out = Path(out)
    scratch = Path(scratch) if scratch is not None else default_scratch()
    _writable(out / protocol.name, "results")
    if scheduler is None:
        _writable(scratch, "scratch")
        from ltoefg.dft import provenance

        provenance.find_executable()
        provenance.species_files(protocol)
    for sid, atoms in structures.items():
        try:
            check_structure(atoms, protocol)
        except DftInputError as exc:
            raise DftInputError(f"structure {sid} of {dataset}: {exc}") from None
    ids = list(structures)
    todo = pending_ids(ids, out, protocol.name, dataset, retry_failed)
    summary: dict[str, list[int]] = {
        "ok": [],
        "unconverged": [],
        "failed": [],
        "skipped": sorted(set(ids) - set(todo)),
    }
    if not todo:
        return summary
    from tqdm import tqdm

    reset_stop()
    stopped = threading.Event()
    local = scheduler is None
    futures = {}
    with dask_client(scheduler, n_workers, error=DftError) as client:
        from dask.distributed import as_completed

        try:
            with stop_signals(lambda: (stopped.set(), request_stop() if local else None)):
                for sid in todo:
                    fut = client.submit(
                        _task,
                        structures[sid],
                        protocol.to_dict(),
                        str(scratch / protocol.name / Path(result_name(dataset, sid)).stem),
                        threads,
                        timeout,
                        {"dataset": dataset, "structure": sid},
                        key=f"ltoefg-dft-{protocol.name}-{dataset}-{sid}",
                        pure=False,
                    )
                    futures[fut] = sid
                bar = tqdm(total=len(todo), desc=f"DFT {protocol.name}", disable=not progress)
                for fut in as_completed(list(futures)):
                    sid = futures[fut]
                    if stopped.is_set():
                        break
                    try:
                        res = fut.result()
                    except DftInterruptedError:
                        stopped.set()
                        break
                    write_json_atomic(result_path(out, protocol.name, dataset, sid), res)
                    summary[res["status"]].append(sid)
                    bar.set_postfix(
                        ok=len(summary["ok"]),
                        unconverged=len(summary["unconverged"]),
                        failed=len(summary["failed"]),
                    )
                    bar.update(1)
                    if on_result is not None:
                        on_result(sid, res)
                bar.close()
        finally:
            if stopped.is_set():
                client.cancel(list(futures))
    if stopped.is_set():
        raise DftInterruptedError(
            f"stopped after {sum(len(v) for k, v in summary.items() if k != 'skipped')} new "
            "result(s); run the "
            "same command again to resume."
        )
    return summary
