"""The HDF5 file of trajectory predictions: chunked, preallocated, resumable.

Layout (key names in :mod:`ltoefg.constants`, ``TRAJ_*``)::

    /efg          (frames, sites, 3, 3) float64  V/Å², NaN until its chunk is done
    /omega_q_khz  (frames, sites)       float64  ωQ/2π, kHz, B0 along attr b0_direction
    /atom_index   (sites,)              int64    the same atoms in every frame
    /wyckoff      (sites,)              str      where the first frame has them
    /chunk_done   (chunks,)             uint8    1 = chunk written and flushed
    attrs: format, format_version, nucleus, b0_direction, chunk_frames,
           frame_interval_s (s, NaN if unknown), run (JSON), provenance (JSON)

Chunk k holds frames [k·chunk_frames, min((k+1)·chunk_frames, frames)); the
HDF5 chunks of ``efg`` and ``omega_q_khz`` are the same frame ranges.

Resumability. The file is made complete — every dataset at its final size,
its storage allocated up front (``H5D_ALLOC_TIME_EARLY``) — under a temporary
name and renamed into place, so it exists only whole. After that a run only
overwrites raw data: :meth:`TrajectoryWriter.write_chunk` writes a chunk's
tensors and ωQ, flushes and fsyncs, and only then sets its ``chunk_done`` byte
(flushed and fsynced again). A run killed at any moment leaves each chunk
either marked with its complete data or unmarked (and then recomputed); no
HDF5 metadata changes after creation. Resuming writes the same values at the
same places, so a resumed file's datasets are bit-for-bit those of an
uninterrupted run. A run resumes only into a file whose ``run`` attribute
(trajectory, sites, nucleus, field, chunking, model) is its own.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ltoefg import constants as C
from ltoefg.application.errors import ApplicationError
from ltoefg.io.outputs import apply_umask, check_file_target

__all__ = [
    "TrajectoryPredictions",
    "TrajectoryWriter",
    "check_output",
    "chunk_ranges",
    "create_file",
    "read_file",
]


def chunk_ranges(n_frames: int, chunk: int) -> list[tuple[int, int]]:
    """[start, stop) frame ranges of the chunks: ``chunk`` frames each, the last shorter."""
    return [(s, min(s + chunk, n_frames)) for s in range(0, n_frames, chunk)]


def _early_allocation() -> Any:
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    return dcpl


def create_file(
    path: str | os.PathLike[str],
    n_frames: int,
    atom_index: ArrayLike,
    chunk: int,
    nucleus: str,
    b0_direction: ArrayLike,
    run: Mapping[str, Any],
    provenance: Mapping[str, Any],
    wyckoff: ArrayLike | None = None,
    frame_interval_s: float | None = None,
) -> Path:
    """Create the complete, empty file atomically (temporary name, then rename).

    Parameters
    ----------
    path : path-like
        The file to create (replaced if it exists).
    n_frames : int
        Frames of the trajectory.
    atom_index : array_like of int, shape (sites,)
        Atom index of each site (the same in every frame).
    chunk : int
        Frames per chunk (≥ 1).
    nucleus : str
    b0_direction : array_like, shape (3,)
        Unit vector of B0 in the structures' Cartesian frame.
    run : mapping
        JSON-serialisable identity of the run (see the module docstring).
    provenance : mapping
        JSON-serialisable provenance (model, labels, trajectory, code).
    wyckoff : array_like of str, optional
        Wyckoff label per site.
    frame_interval_s : float, optional
        Time between frames, s.
    """
    target = Path(path)
    sites = np.asarray(atom_index, dtype=np.int64)
    n_sites = len(sites)
    rows = max(1, min(int(chunk), int(n_frames)))
    n_chunks = len(chunk_ranges(n_frames, chunk))
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            dcpl = _early_allocation()
            f.create_dataset(
                C.TRAJ_EFG,
                shape=(n_frames, n_sites, 3, 3),
                dtype="f8",
                chunks=(rows, max(1, n_sites), 3, 3),
                fillvalue=np.nan,
                dcpl=dcpl,
            )
            f.create_dataset(
                C.TRAJ_OMEGA_Q_KHZ,
                shape=(n_frames, n_sites),
                dtype="f8",
                chunks=(rows, max(1, n_sites)),
                fillvalue=np.nan,
                dcpl=_early_allocation(),
            )
            f.create_dataset(C.TRAJ_ATOM_INDEX, data=sites)
            if wyckoff is not None:
                f.create_dataset(C.TRAJ_WYCKOFF, data=np.asarray(wyckoff, dtype="S"))
            f.create_dataset(
                C.TRAJ_CHUNK_DONE, data=np.zeros(n_chunks, dtype=np.uint8), dcpl=_early_allocation()
            )
            f.attrs[C.TRAJ_ATTR_FORMAT] = C.TRAJ_FORMAT
            f.attrs[C.TRAJ_ATTR_VERSION] = C.TRAJ_FORMAT_VERSION
            f.attrs[C.TRAJ_ATTR_NUCLEUS] = nucleus
            f.attrs[C.TRAJ_ATTR_B0] = np.asarray(b0_direction, dtype=np.float64)
            f.attrs[C.TRAJ_ATTR_CHUNK] = int(chunk)
            f.attrs[C.TRAJ_ATTR_FRAME_INTERVAL] = (
                float(frame_interval_s) if frame_interval_s is not None else np.nan
            )
            f.attrs[C.TRAJ_ATTR_RUN] = json.dumps(dict(run), sort_keys=True)
            f.attrs[C.TRAJ_ATTR_PROVENANCE] = json.dumps(dict(provenance), sort_keys=True)
        apply_umask(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _check_format(f: h5py.File, path: Path) -> None:
    if f.attrs.get(C.TRAJ_ATTR_FORMAT) != C.TRAJ_FORMAT:
        raise ApplicationError(f"{path} is not an ltoefg trajectory-prediction file")
    version = int(f.attrs.get(C.TRAJ_ATTR_VERSION, -1))
    if version != C.TRAJ_FORMAT_VERSION:
        raise ApplicationError(
            f"{path} has trajectory-file format version {version}; this code reads version "
            f"{C.TRAJ_FORMAT_VERSION}"
        )


def _open(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except OSError as exc:
        raise ApplicationError(f"cannot open {path} as HDF5 ({exc})") from None


class TrajectoryWriter:
    """Writes chunks into an existing file (:func:`create_file`); a context manager.

    Parameters
    ----------
    path : path-like
    run : mapping
        This run's identity; it must equal the file's ``run`` attribute.

    Raises
    ------
    ApplicationError
        Not a trajectory file of this format version, or a file of another run.
    """

    def __init__(self, path: str | os.PathLike[str], run: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self._f = _open(self.path, "r+")
        try:
            _check_format(self._f, self.path)
            theirs = json.loads(str(self._f.attrs[C.TRAJ_ATTR_RUN]))
            ours = json.loads(json.dumps(dict(run), sort_keys=True))
            differ = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
            if differ:
                raise ApplicationError(
                    f"{self.path} holds predictions of another run (different "
                    f"{', '.join(differ)}); give another output file or delete this one"
                )
        except BaseException:
            self._f.close()
            raise
        self._efg = self._f[C.TRAJ_EFG]
        self._omega = self._f[C.TRAJ_OMEGA_Q_KHZ]
        self._done = self._f[C.TRAJ_CHUNK_DONE]
        self.chunk = int(self._f.attrs[C.TRAJ_ATTR_CHUNK])
        self.n_frames = int(self._efg.shape[0])

    @property
    def done(self) -> NDArray[np.bool_]:
        """Done-mask of the chunks, shape (chunks,)."""
        return self._done[:].astype(bool)

    def _sync(self) -> None:
        self._f.flush()
        os.fsync(self._f.id.get_vfd_handle())

    def write_chunk(
        self, k: int, efg: NDArray[np.float64], omega_q_khz: NDArray[np.float64]
    ) -> None:
        """Write chunk ``k`` (data, flush, fsync), then mark it done (flush, fsync).

        Parameters
        ----------
        k : int
            Chunk index.
        efg : numpy.ndarray, shape (frames of the chunk, sites, 3, 3)
            V/Å².
        omega_q_khz : numpy.ndarray, shape (frames of the chunk, sites)
            kHz.
        """
        start = k * self.chunk
        stop = min(start + self.chunk, self.n_frames)
        self._efg[start:stop] = efg
        self._omega[start:stop] = omega_q_khz
        self._sync()
        self._done[k] = 1
        self._sync()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._f.id.valid:
            self._f.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class TrajectoryPredictions:
    """The metadata of a trajectory-prediction file, and lazy access to its data.

    Attributes
    ----------
    path : pathlib.Path
    n_frames, n_sites, chunk : int
    nucleus : str
    atom_index : numpy.ndarray of int, shape (sites,)
    wyckoff : numpy.ndarray of str, shape (sites,), or None
    b0_direction : numpy.ndarray, shape (3,)
    frame_interval_s : float or None
        Time between frames, s.
    done : numpy.ndarray of bool, shape (chunks,)
    provenance : dict
        Including ``training_data`` of the model (for the figure banner).
    """

    path: Path
    n_frames: int
    n_sites: int
    chunk: int
    nucleus: str
    atom_index: NDArray[np.int64]
    wyckoff: NDArray[np.str_] | None
    b0_direction: NDArray[np.float64]
    frame_interval_s: float | None
    done: NDArray[np.bool_]
    provenance: dict[str, Any]

    @property
    def complete(self) -> bool:
        """True when every chunk is done."""
        return bool(self.done.all())

    def omega_q_khz(self) -> NDArray[np.float64]:
        """ωQ/2π of every frame and site, kHz, shape (frames, sites) (read whole)."""
        with _open(self.path, "r") as f:
            return np.asarray(f[C.TRAJ_OMEGA_Q_KHZ][:], dtype=np.float64)

    def efg_sum(self) -> NDArray[np.float64]:
        """Σ over frames of the tensors, shape (sites, 3, 3), V/Å², read chunk by chunk."""
        total = np.zeros((self.n_sites, 3, 3))
        with _open(self.path, "r") as f:
            dset = f[C.TRAJ_EFG]
            for start, stop in chunk_ranges(self.n_frames, self.chunk):
                total += dset[start:stop].sum(axis=0)
        return total


def read_file(path: str | os.PathLike[str], require_complete: bool = True) -> TrajectoryPredictions:
    """Open a trajectory-prediction file and read its metadata.

    Raises
    ------
    ApplicationError
        Missing, not such a file, another format version, or (with
        ``require_complete``) chunks still missing.
    """
    p = Path(path)
    if not p.is_file():
        raise ApplicationError(f"trajectory-prediction file {p} does not exist")
    with _open(p, "r") as f:
        _check_format(f, p)
        efg = f[C.TRAJ_EFG]
        done = f[C.TRAJ_CHUNK_DONE][:].astype(bool)
        interval = float(f.attrs[C.TRAJ_ATTR_FRAME_INTERVAL])
        result = TrajectoryPredictions(
            path=p,
            n_frames=int(efg.shape[0]),
            n_sites=int(efg.shape[1]),
            chunk=int(f.attrs[C.TRAJ_ATTR_CHUNK]),
            nucleus=str(f.attrs[C.TRAJ_ATTR_NUCLEUS]),
            atom_index=f[C.TRAJ_ATOM_INDEX][:].astype(np.int64),
            wyckoff=f[C.TRAJ_WYCKOFF][:].astype(str) if C.TRAJ_WYCKOFF in f else None,
            b0_direction=np.asarray(f.attrs[C.TRAJ_ATTR_B0], dtype=np.float64),
            frame_interval_s=interval if np.isfinite(interval) else None,
            done=done,
            provenance=json.loads(str(f.attrs[C.TRAJ_ATTR_PROVENANCE])),
        )
    if require_complete and not result.complete:
        raise ApplicationError(
            f"{p} is incomplete ({int(done.sum())} of {len(done)} chunks done); run the "
            "trajectory command again to finish it"
        )
    return result


def check_output(path: str | os.PathLike[str]) -> Path:
    """Check up front that the output file can be written (one sentence otherwise)."""
    p = Path(path)
    if p.suffix not in (".h5", ".hdf5"):
        raise ApplicationError(f"output file {p} must end with .h5 or .hdf5")
    return check_file_target(p, "trajectory predictions")
