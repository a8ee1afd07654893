"""A Dask client for ltoefg's distributed jobs: a LocalCluster by default, any scheduler on request.

Shared by the DFT labeller (:mod:`ltoefg.dft.distribute`) and the trajectory
predictions (:mod:`ltoefg.application.trajectory`): both submit independent
tasks, collect results on the client as they arrive and write them
atomically, so a stopped run resumes.

* :func:`dask_client` opens a ``distributed.LocalCluster`` (``n_workers``
  workers of one thread each, no dashboard; in-process threads or worker
  processes) or connects to an existing scheduler (``tcp://host:8786``, e.g.
  one started by dask-jobqueue on SLURM), and closes both at the end. A
  missing ``dask.distributed`` or an unreachable scheduler is one sentence.
* :func:`stop_signals` turns SIGTERM/SIGINT into a callback while a run is
  collecting results, so the caller can stop cleanly and keep what is done.

Dask is imported only here, when called.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ltoefg.errors import LtoefgError

__all__ = ["dask_client", "stop_signals"]


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int = 1,
    processes: bool = False,
    error: type[LtoefgError] = LtoefgError,
    extra: str = "dft",
) -> Iterator[Any]:
    """A ``distributed.Client`` on a new LocalCluster or on ``scheduler``; closed on exit.

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``); default: a
        LocalCluster.
    n_workers : int
        Workers of the LocalCluster, one thread each.
    processes : bool
        LocalCluster workers as separate processes (Dask's nanny then sets
        ``OMP_NUM_THREADS=1`` etc. in each) instead of threads of this process.
    error : type
        The :class:`~ltoefg.errors.LtoefgError` subclass raised on failure.
    extra : str
        The ``ltoefg`` extra that installs dask (named in the message).

    Raises
    ------
    LtoefgError
        (of type ``error``) dask.distributed is missing, or the scheduler
        cannot be reached within 30 s.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise error(
            f"dask.distributed is not installed; install it with `pip install 'ltoefg[{extra}]'`."
        ) from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as exc:
            raise error(
                f"cannot connect to the Dask scheduler {scheduler!r} ({exc}); check the address."
            ) from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def stop_signals(callback: Callable[[], Any]) -> Iterator[None]:
    """Call ``callback()`` on SIGTERM/SIGINT inside the block (main thread only).

    The previous handlers are restored on exit; in another thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: Any) -> None:
        callback()

    for s in old:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
