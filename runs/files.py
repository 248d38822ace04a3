"""Writing the files of a run so that no reader ever sees a half-written one.

Every output (weight snapshots, rates, run.json, checkpoints, figures) is written
to a temporary file beside its name, synced and renamed (``atomic_write``).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temporary file beside *path*, fsync, then rename.

    A reader (or a crash) never sees a half-written file: either the old file
    or the complete new one exists under *path*. The folder is synced after the
    rename, so the new name survives a power cut.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)      # mkstemp creates 0600; outputs are for sharing
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            # e.g. ENOSPC from inside write(): name the file that could not be written
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def ensure_writable(folder) -> None:
    """Create *folder* (and its parents) if needed and check that a file can be written
    there; raises OSError otherwise (a read-only mount, no permission, no space)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".write_test.", suffix=".tmp")
    os.close(fd)
    os.unlink(probe)


def remove_stale_temporaries(folder) -> list[Path]:
    """Delete the temporary files that a killed ``atomic_write`` left under *folder*."""
    removed = []
    for p in Path(folder).rglob(".*.tmp"):
        if p.is_file():
            p.unlink()
            removed.append(p)
    return removed


def fsync_dir(folder) -> None:
    """Make a rename in *folder* durable (the directory entry itself is flushed)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_matrix_txt(path, matrix: np.ndarray) -> None:
    """Write a 2-D weight matrix as text, atomically (full float64 precision)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D matrix, got shape {matrix.shape}")
    atomic_write(path, lambda f: np.savetxt(f, matrix, fmt="%.17g"))


def save_npy(path, array: np.ndarray) -> None:
    atomic_write(path, lambda f: np.save(f, np.asarray(array)))


def save_json(path, data: dict) -> None:
    text = json.dumps(data, indent=2, sort_keys=True, default=json_default) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def json_default(obj):
    """numpy scalars and arrays and paths as JSON values."""
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
