"""The worker processes of an evaluation: how many, and a local Dask cluster that starts and
ends quietly.

A local worker is one single-threaded process with its own copy of the network (the
simulation of one presentation does not use more than one core, ``simulator.network``). More
workers than the cores this process may use only share those cores, more slowly: the count
is capped to the cores, with one line saying so. Every worker holds ANNarchy, the compiled
network and a chunk of rates and spike counts (``WORKER_MEMORY``); a count that does not fit
in the memory available now is refused before anything starts.
"""
from __future__ import annotations

import contextlib
import logging
import os

from runs.options import UsageError

# Bytes per worker: measured peak 0.2 GiB with layers 4 + 2/3 loaded and a chunk of 8 images x 49
# crops simulated, plus the counts of 10 repeats; the one compile of a run takes ~0.7 GiB more.
WORKER_MEMORY = 0.6 * 2**30


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def available_memory() -> int | None:
    """Bytes of memory available for new processes (Linux ``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def local_workers(requested: int | None, n_cores: int | None = None, memory: int | None = -1) -> tuple[int, str | None]:
    """(worker count, a one-line note or None) for ``--workers requested`` (None: one per core).

    Raises UsageError when the count does not fit in *memory* (bytes; -1: measure it now).
    """
    n_cores = cores() if n_cores is None else n_cores
    workers, note = (n_cores if requested is None else requested), None
    if workers > n_cores:
        note = (f"--workers {workers}: more workers than the {n_cores} cores this process may use would only "
                f"share them; using {n_cores}")
        workers = n_cores
    memory = available_memory() if memory == -1 else memory
    if memory is not None and workers * WORKER_MEMORY > memory:
        fits = int(memory // WORKER_MEMORY)
        raise UsageError(f"--workers {workers}: needs about {workers * WORKER_MEMORY / 2**30:.1f} GiB of memory "
                         f"({WORKER_MEMORY / 2**30:.1f} GiB each), {memory / 2**30:.1f} GiB available"
                         + (f"; use --workers {fits} or fewer" if fits else ""))
    return workers, note


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int, repo_root, timeout_s: float = 10):
    """A Dask client: of the cluster at *scheduler* (connected within *timeout_s*), or of a local
    cluster of *workers* single-threaded processes, closed at the end of the block without log
    output (a loaded machine otherwise ends a finished run with heartbeat tracebacks of workers
    whose scheduler is already gone)."""
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            client, cluster = Client(scheduler, timeout=f"{timeout_s}s"), None
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot connect ({exc or type(exc).__name__})")
    else:
        # worker processes find this package and run single-threaded
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(repo_root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
        os.environ["OMP_NUM_THREADS"] = "1"
        # no dashboard; the scheduler's HTTP server on a free port (the default 8787 may be taken)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.CRITICAL)
        client = Client(cluster)
    try:
        yield client
    finally:
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
        client.close()
        if cluster is not None:
            cluster.close()
