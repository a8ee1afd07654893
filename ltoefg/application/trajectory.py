"""EFG tensors of one nucleus over a whole trajectory: lazy, chunked, resumable, on Dask.

:func:`predict_trajectory` (``python -m baselines trajectory``) reads any
ase-readable trajectory frame by frame (:func:`inspect_trajectory` counts the
frames and finds the sites; :func:`iter_chunks` reads chunks of frames with
``ase.io.iread`` — never the whole file), predicts the EFG tensor of every
site of the nucleus in every frame with any
:class:`~ltoefg.application.predict.TensorModel`, and writes tensors and ωQ
into one chunked HDF5 file (:mod:`ltoefg.application.trajectory_file`) that a
killed run resumes.

Distribution. Chunks of frames are the tasks: :func:`predict_chunk` runs on a
Dask worker (``distributed.LocalCluster`` of worker processes by default,
or an existing scheduler, :func:`ltoefg.dask_cluster.dask_client`); the model
is sent to every worker once (``Client.scatter(broadcast=True)``); the client
keeps at most a few chunks per worker in flight (memory stays bounded
however long the trajectory) and writes each result as it arrives. ``serial``
runs the same :func:`predict_chunk` in this process without Dask: for the
same model and the same number of BLAS threads the two give identical
numbers (Dask's worker processes run BLAS on one thread; a model whose sums
depend on the thread count may then differ in the last bits).

Sites. The sites are the atoms of the nucleus in the first frame, identified
by their atom index; every frame must have the same number of atoms and the
nucleus on exactly those indices (an MD trajectory keeps its atom order), so
that a site's time series follows one nucleus.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ltoefg.application.errors import ApplicationError
from ltoefg.application.predict import (
    TensorModel,
    lab_rotation,
    omega_q_lab_khz,
    predict_tensors,
)
from ltoefg.application.trajectory_file import (
    TrajectoryWriter,
    check_output,
    chunk_ranges,
    create_file,
)

if TYPE_CHECKING:
    import ase

__all__ = [
    "TrajectoryInput",
    "TrajectoryRun",
    "count_frames",
    "inspect_trajectory",
    "iter_chunks",
    "predict_chunk",
    "predict_trajectory",
]

#: Formats counted by scanning the text for frame headers (no parsing of atoms).
_XYZ_FORMATS = ("extxyz", "xyz")
#: Chunks in flight per Dask worker (bounds the client's memory).
IN_FLIGHT_PER_WORKER = 2


@dataclass(frozen=True)
class TrajectoryInput:
    """What is known about a trajectory before any prediction.

    Attributes
    ----------
    path : pathlib.Path
    format : str
        ase format name.
    n_frames, n_atoms : int
    atom_index : numpy.ndarray of int, shape (sites,)
        Atoms of the nucleus in the first frame.
    wyckoff : numpy.ndarray of str or None
        Their Wyckoff labels, where the first frame has a ``wyckoff`` array.
    fingerprint : str
        SHA-256 of the first frame's numbers, cell and positions (part of the
        run identity, with the file size and frame count).
    """

    path: Path
    format: str
    n_frames: int
    n_atoms: int
    atom_index: NDArray[np.int64]
    wyckoff: NDArray[np.str_] | None
    fingerprint: str


@dataclass(frozen=True)
class TrajectoryRun:
    """Summary of one :func:`predict_trajectory` call.

    Attributes
    ----------
    out : pathlib.Path
    n_frames, n_sites, n_chunks : int
    chunks_done_before : int
        Chunks already in the file when the run started (resumed).
    chunks_computed, frames_computed : int
        Chunks and frames predicted in this call.
    seconds : float
        Wall time of the prediction loop (reading, predicting, writing), s.
    """

    out: Path
    n_frames: int
    n_sites: int
    n_chunks: int
    chunks_done_before: int
    chunks_computed: int
    frames_computed: int
    seconds: float

    @property
    def frames_per_second(self) -> float:
        """Frames predicted per second of wall time in this call (0 if none)."""
        return self.frames_computed / self.seconds if self.frames_computed else 0.0


def _count_xyz_frames(path: Path) -> int:
    """Frames of an (ext)xyz file from its headers: skip ``natoms + 1`` lines per frame."""
    n = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        line = fh.readline()
        while line.strip():
            try:
                natoms = int(line)
            except ValueError:
                raise ApplicationError(
                    f"{path}: frame {n} does not start with an atom count "
                    f"(got {line.strip()[:40]!r})"
                ) from None
            deque(itertools.islice(fh, natoms + 1), maxlen=0)
            n += 1
            line = fh.readline()
            while line.lstrip().startswith("VEC"):  # ase's lattice-vector lines of plain xyz
                line = fh.readline()
    return n


def count_frames(path: str | os.PathLike[str], fmt: str) -> int:
    """Number of frames, without keeping any in memory.

    (ext)xyz: a scan of the frame headers; ase ``.traj``: its index; any other
    format: one pass of ``ase.io.iread`` (each frame parsed and dropped).
    """
    p = Path(path)
    if fmt in _XYZ_FORMATS:
        return _count_xyz_frames(p)
    if fmt == "traj":
        from ase.io.trajectory import Trajectory

        with Trajectory(str(p)) as traj:
            return len(traj)
    from ase.io import iread

    return sum(1 for _ in iread(str(p), index=":", format=fmt))


def _fingerprint(atoms: ase.Atoms) -> str:
    h = hashlib.sha256()
    for arr in (atoms.numbers, np.asarray(atoms.cell[:]), atoms.positions):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def inspect_trajectory(
    path: str | os.PathLike[str], nucleus: str, fmt: str | None = None
) -> TrajectoryInput:
    """Format, frame count and sites of a trajectory; one sentence on bad input.

    Raises
    ------
    ApplicationError
        Missing or unreadable file, no frames, no atom of the nucleus.
    """
    from ase.data import atomic_numbers
    from ase.io import iread
    from ase.io.formats import filetype

    p = Path(path)
    if not p.is_file():
        raise ApplicationError(f"trajectory file {p} does not exist")
    try:
        fmt = fmt or filetype(str(p))
        n_frames = count_frames(p, fmt)
        first = next(iter(iread(str(p), index=slice(0, 1), format=fmt)), None)
    except ApplicationError:
        raise
    except Exception as exc:  # ase raises many types for unreadable input
        raise ApplicationError(f"cannot read a trajectory from {p}: {exc}") from None
    if first is None or n_frames == 0:
        raise ApplicationError(f"{p} holds no frames")
    sites = np.flatnonzero(first.numbers == atomic_numbers[nucleus]).astype(np.int64)
    if len(sites) == 0:
        raise ApplicationError(f"the first frame of {p} has no {nucleus} atoms")
    wyckoff = first.arrays.get("wyckoff")
    return TrajectoryInput(
        path=p,
        format=fmt,
        n_frames=n_frames,
        n_atoms=len(first),
        atom_index=sites,
        wyckoff=None if wyckoff is None else np.asarray(wyckoff)[sites].astype(str),
        fingerprint=_fingerprint(first),
    )


def _check_frame(atoms: ase.Atoms, k: int, traj: TrajectoryInput, z: int) -> None:
    if len(atoms) != traj.n_atoms:
        raise ApplicationError(
            f"frame {k} of {traj.path} has {len(atoms)} atoms, the first frame "
            f"{traj.n_atoms}; a trajectory keeps its atoms"
        )
    if not np.array_equal(np.flatnonzero(atoms.numbers == z), traj.atom_index):
        raise ApplicationError(
            f"frame {k} of {traj.path} has its atoms of atomic number {z} on other indices "
            "than the first frame; a trajectory keeps its atom order"
        )


def iter_chunks(
    traj: TrajectoryInput, chunk: int, todo: Sequence[int], nucleus: str
) -> Iterator[tuple[int, list[ase.Atoms]]]:
    """(chunk index, frames) of the chunks in ``todo``, read lazily in file order.

    One ``ase.io.iread`` pass from the first chunk to do to the end of the
    last one; frames of chunks already done are parsed and dropped. Every
    frame is checked to hold the same sites as the first one.

    Raises
    ------
    ApplicationError
        A frame is unreadable, has other atoms, or the file ends early.
    """
    from ase.data import atomic_numbers
    from ase.io import iread

    wanted = sorted(set(int(k) for k in todo))
    if not wanted:
        return
    ranges = chunk_ranges(traj.n_frames, chunk)
    z = atomic_numbers[nucleus]
    first = ranges[wanted[0]][0]
    last = ranges[wanted[-1]][1]
    frames = iread(str(traj.path), index=slice(first, last), format=traj.format)
    k_iter = iter(wanted)
    k = next(k_iter)
    buffer: list[ase.Atoms] = []
    index = first
    try:
        for atoms in frames:
            start, stop = ranges[k]
            if index >= start:
                _check_frame(atoms, index, traj, z)
                buffer.append(atoms)
            index += 1
            if index == stop:
                yield k, buffer
                buffer = []
                k = next(k_iter, -1)
                if k < 0:
                    return
    except ApplicationError:
        raise
    except Exception as exc:  # a corrupt frame in the middle of the file
        raise ApplicationError(f"cannot read frame {index} of {traj.path}: {exc}") from None
    raise ApplicationError(
        f"{traj.path} ended after {index} frames, but {traj.n_frames} were counted"
    )


def predict_chunk(
    model: TensorModel,
    frames: Sequence[ase.Atoms],
    atom_index: NDArray[np.int64],
    nucleus: str,
    rotation: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tensors and ωQ of the sites ``atom_index`` in every frame: the unit of work.

    Returns
    -------
    efg : numpy.ndarray, shape (frames, sites, 3, 3)
        V/Å², the structures' Cartesian frame.
    omega_q_khz : numpy.ndarray, shape (frames, sites)
        ωQ/2π in kHz with B0 along Rᵀẑ.
    """
    n, s = len(frames), len(atom_index)
    centres = np.column_stack([np.repeat(np.arange(n), s), np.tile(atom_index, n)])
    efg = predict_tensors(model, frames, centres).reshape(n, s, 3, 3)
    return efg, omega_q_lab_khz(efg, nucleus, rotation)


def _run_identity(
    traj: TrajectoryInput, nucleus: str, b0: NDArray[np.float64], chunk: int, model_id: str
) -> dict[str, Any]:
    return {
        "trajectory": str(traj.path.resolve()),
        "trajectory_bytes": traj.path.stat().st_size,
        "n_frames": traj.n_frames,
        "n_atoms": traj.n_atoms,
        "first_frame_sha256": traj.fingerprint,
        "atom_index_sha256": hashlib.sha256(traj.atom_index.tobytes()).hexdigest(),
        "nucleus": nucleus,
        "b0_direction": [float(x) for x in b0],
        "chunk_frames": int(chunk),
        "model": model_id,
    }


def predict_trajectory(
    path: str | os.PathLike[str],
    model: TensorModel,
    out: str | os.PathLike[str],
    nucleus: str = "Li",
    b0_direction: ArrayLike = (0.0, 0.0, 1.0),
    chunk: int = 10,
    scheduler: str | None = None,
    n_workers: int | None = None,
    serial: bool = False,
    model_id: str | None = None,
    provenance: dict[str, Any] | None = None,
    frame_interval_s: float | None = None,
    fmt: str | None = None,
    progress: bool = True,
) -> TrajectoryRun:
    """Predict the nucleus's EFG tensors in every frame into a resumable HDF5 file.

    Parameters
    ----------
    path : path-like
        Any ase-readable trajectory (positions in Å); read lazily.
    model : TensorModel
        ``predict(frames, centres) -> (n, 3, 3)`` in V/Å²; must pickle (Dask).
    out : path-like
        The ``.h5`` file; created, or resumed if it holds this run.
    nucleus : str
    b0_direction : array_like, shape (3,)
        Direction of B0 in the Cartesian frame (default ẑ).
    chunk : int
        Frames per task and per done-mask entry (≥ 1).
    scheduler : str, optional
        Address of an existing Dask scheduler; default a LocalCluster.
    n_workers : int, optional
        LocalCluster worker processes (default: the CPUs this process may use).
    serial : bool
        Run in this process, without Dask.
    model_id : str, optional
        What identifies the model for resuming (e.g. the model file's SHA-256);
        default the model's class name.
    provenance : dict, optional
        Extra JSON-serialisable provenance (model file, ...); the model's
        ``training_data`` is added.
    frame_interval_s : float, optional
        Time between frames in s, stored for :mod:`ltoefg.application.dynamics`.
    fmt : str, optional
        ase format name (default: from the file).
    progress : bool
        tqdm progress bar over frames.

    Returns
    -------
    TrajectoryRun

    Raises
    ------
    ApplicationError
        Bad input (see :func:`inspect_trajectory`, :func:`iter_chunks`), an
        output file of another run, a failing model, or a stop by SIGTERM/SIGINT
        (finished chunks are kept: run again to resume).
    """
    from ltoefg.dask_cluster import stop_signals
    from ltoefg.version import __version__

    if int(chunk) < 1:
        raise ApplicationError(f"the chunk size must be at least 1 frame, got {chunk}")
    chunk = int(chunk)
    try:
        rotation = lab_rotation(b0_direction)
    except ValueError as exc:
        raise ApplicationError(str(exc)) from None
    b0 = rotation.T @ np.array([0.0, 0.0, 1.0])
    target = check_output(out)
    traj = inspect_trajectory(path, nucleus, fmt)
    model_id = model_id or type(model).__qualname__
    run = _run_identity(traj, nucleus, b0, chunk, model_id)
    if not target.exists():
        create_file(
            target,
            traj.n_frames,
            traj.atom_index,
            chunk,
            nucleus,
            b0,
            run,
            {
                **(provenance or {}),
                "training_data": getattr(model, "training_data", None) or {},
                "trajectory": str(traj.path),
                "trajectory_format": traj.format,
                "ltoefg_version": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            },
            traj.wyckoff,
            frame_interval_s,
        )
    stopped = threading.Event()
    with TrajectoryWriter(target, run) as writer:
        done = writer.done
        todo = [int(k) for k in np.flatnonzero(~done)]
        ranges = chunk_ranges(traj.n_frames, chunk)
        computed = frames_done = 0
        t0 = time.perf_counter()
        if todo:
            from tqdm import tqdm

            bar = tqdm(
                total=sum(ranges[k][1] - ranges[k][0] for k in todo),
                desc=f"{nucleus} EFG over {traj.path.name}",
                unit="frame",
                disable=not progress,
            )
            chunks = iter_chunks(traj, chunk, todo, nucleus)
            args = (traj.atom_index, nucleus, rotation)
            with stop_signals(stopped.set):
                if serial:
                    results = _serial(model, chunks, args, stopped)
                else:
                    results = _distributed(
                        model, chunks, args, stopped, scheduler, n_workers or _cpus()
                    )
                for k, efg, omega in results:
                    writer.write_chunk(k, efg, omega)
                    computed += 1
                    frames_done += len(efg)
                    bar.update(len(efg))
            bar.close()
        seconds = time.perf_counter() - t0
    if stopped.is_set() and computed < len(todo):
        raise ApplicationError(
            f"stopped after {computed} new chunk(s) ({int(done.sum()) + computed} of "
            f"{len(done)} done); run the same command again to resume"
        )
    return TrajectoryRun(
        out=target,
        n_frames=traj.n_frames,
        n_sites=len(traj.atom_index),
        n_chunks=len(done),
        chunks_done_before=int(done.sum()),
        chunks_computed=computed,
        frames_computed=frames_done,
        seconds=seconds,
    )


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


Result = tuple[int, NDArray[np.float64], NDArray[np.float64]]


def _serial(
    model: TensorModel,
    chunks: Iterator[tuple[int, list[ase.Atoms]]],
    args: tuple[Any, ...],
    stopped: threading.Event,
) -> Iterator[Result]:
    for k, frames in chunks:
        if stopped.is_set():
            return
        yield (k, *predict_chunk(model, frames, *args))


def _distributed(
    model: TensorModel,
    chunks: Iterator[tuple[int, list[ase.Atoms]]],
    args: tuple[Any, ...],
    stopped: threading.Event,
    scheduler: str | None,
    n_workers: int,
) -> Iterator[Result]:
    from ltoefg.dask_cluster import dask_client

    with dask_client(
        scheduler, n_workers, processes=True, error=ApplicationError, extra="trajectory"
    ) as client:
        from dask.distributed import as_completed

        if scheduler is not None:
            try:
                client.wait_for_workers(1, timeout=600)
            except TimeoutError:
                raise ApplicationError(
                    f"the Dask scheduler {scheduler!r} has had no worker for 10 min; start workers"
                ) from None
        workers = max(1, len(client.scheduler_info().get("workers", {})) or n_workers)
        remote_model = client.scatter(model, broadcast=True)
        pending = as_completed()
        keys: dict[Any, int] = {}

        def submit_next() -> bool:
            item = next(chunks, None)
            if item is None:
                return False
            k, frames = item
            fut = client.submit(predict_chunk, remote_model, frames, *args, pure=False)
            keys[fut] = k
            pending.add(fut)
            return True

        for _ in range(IN_FLIGHT_PER_WORKER * workers):
            if not submit_next():
                break
        try:
            for fut in pending:
                if stopped.is_set():
                    return
                efg, omega = fut.result()
                yield keys.pop(fut), efg, omega
                if not stopped.is_set():
                    submit_next()
        finally:
            client.cancel(list(keys))
