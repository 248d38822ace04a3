"""Members of a study on a Dask cluster (``experiments.sweep``, ``analysis.seed_study``).

A study is a list of members, each a training run of its own. The cluster only places them:
a local one (one worker process per core by default) or an existing one (``--scheduler
ADDRESS``), so the same command runs on one machine or on many. A member runs the package's
own commands in fresh processes (``run_command``): ANNarchy compiles and loads one network
per process, and a member that crashes takes no other member with it. Each worker compiles
into folders of its own (``worker_slot``), reused by its next member.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def add_cluster_options(parser) -> None:
    """The options that say where members run (the same in every study)."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local Dask worker processes (default: one per core, at most one per member)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="an existing Dask scheduler (e.g. tcp://host:8786) instead of a local cluster")
    parser.add_argument("--build-root", default=None, metavar="DIR",
                        help="compile folders, one set per worker (default: OUT/build)")


@contextlib.contextmanager
def study_client(workers: int | None, scheduler: str | None, members: int):
    """Yields (client, where the members run, in words): the evaluation's Dask client
    (``evaluation.workers.dask_client``: an unreachable scheduler is one line, a local cluster
    ends quietly) on *scheduler*, or on a local cluster of *workers* single-threaded processes,
    by default one per core but no more than there are members (a member is one
    single-threaded training)."""
    from evaluation.workers import cores, dask_client
    n = workers or max(1, min(members, cores()))
    with dask_client(scheduler, n, REPO_ROOT) as client:
        yield client, scheduler or f"a local cluster of {n} worker{'s' * (n > 1)}"


def each_completed(client, fn, members, **kwargs):
    """Runs ``fn(*member, **kwargs)`` for every member (a tuple) on the cluster; yields
    (member, result, error) as each ends, error the exception or None: one member that fails
    does not stop the others. Keys are unique, so two studies on one scheduler never share a
    result."""
    from distributed import as_completed
    futures = {client.submit(fn, *member, **kwargs, pure=False,
                             key=f"{fn.__name__}-{'-'.join(map(str, member))}-{uuid.uuid4().hex[:8]}"): member
               for member in members}
    for future in as_completed(futures):
        try:
            yield futures[future], future.result(), None
        except Exception as exc:             # the member's error, reported by the caller
            yield futures[future], None, exc


def worker_slot() -> str:
    """This worker's name: its compile folders are its own, so two members never compile
    into one folder at the same time."""
    try:
        from distributed import get_worker
        return f"w{get_worker().name}"
    except (ImportError, ValueError):
        return f"p{os.getpid()}"


def run_command(cmd: list, log: Path, accept=(0,)) -> int:
    """Runs one of the package's commands in the repository, its output appended to *log*
    (the member's record of what ran); an exit code not in *accept* raises. Returns the exit
    code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        done = subprocess.run([str(c) for c in cmd], cwd=REPO_ROOT, stdout=fh, stderr=subprocess.STDOUT,
                              env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if done.returncode not in accept:
        raise RuntimeError(f"{' '.join(map(str, cmd[1:3]))} exited {done.returncode} (log: {log})")
    return done.returncode
