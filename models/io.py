"""File layout of a training run: atomic writes, snapshot discovery, run metadata.

Weight snapshots are plain text (``np.loadtxt``-readable), one row per
postsynaptic neuron and one column per presynaptic neuron, named
``<folder>/<stem>_<N>.txt`` where N is the number of patches presented so far.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
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
    text = json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write(path, lambda f: f.write(text.encode()))


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def sha256_of_array(array: np.ndarray) -> str:
    """Content hash of an array (dtype, shape and C-order bytes)."""
    h = hashlib.sha256()
    a = np.ascontiguousarray(array)
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


_STEP = re.compile(r"_(\d+)\.txt$")


def snapshot_steps(folder: str | os.PathLike, stem: str) -> list[int]:
    """Sorted patch counts N for which ``folder/<stem>_N.txt`` exists."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    steps = []
    for p in folder.glob(f"{stem}_*.txt"):
        m = _STEP.search(p.name)
        if m and p.name == f"{stem}_{m.group(1)}.txt":
            steps.append(int(m.group(1)))
    return sorted(steps)


def complete_snapshot_steps(out_dir, files: dict[str, tuple]) -> list[int]:
    """Patch counts N at which every snapshot file in *files* exists.

    *files* maps ``"<subfolder>/<stem>"`` to the expected shape (unused here,
    kept for the caller's shape checks).
    """
    common = None
    for rel in files:
        sub, stem = os.path.split(rel)
        steps = set(snapshot_steps(Path(out_dir) / sub, stem))
        common = steps if common is None else common & steps
    return sorted(common or [])
