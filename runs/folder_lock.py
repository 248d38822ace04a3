"""One writer per output folder: an operating-system lock held for the whole run.

A training run folder or an evaluation output folder is owned by one process at a time.
The owner holds ``fcntl.flock`` on ``<folder>/.lock`` (which records its process id) until
it exits; a second process that wants to write there is refused with one line naming the
owner. The kernel drops the lock when the owner ends, however it ends (exit, Ctrl-C,
SIGKILL, a crash), so a stopped run never leaves a stale lock behind.
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

LOCK_NAME = ".lock"


class FolderBusy(Exception):
    """Another process holds the folder (one line naming it)."""


class FolderNotWritable(Exception):
    """The folder cannot be created or written (one line)."""


class FolderLock:
    """``FolderLock.acquire(folder)``: hold *folder* until ``release()`` or the end of the process.

    The folder (and missing parents) is created if needed; ``release(remove_created=True)``
    removes what this lock created when it is still empty, so that a run refused after
    taking the lock leaves nothing behind.
    """

    def __init__(self, folder: Path, fd: int, created: Path | None):
        self.folder, self._fd, self._created = folder, fd, created

    @property
    def path(self) -> Path:
        return self.folder / LOCK_NAME

    @classmethod
    def acquire(cls, folder, what: str = "run") -> "FolderLock":
        folder = Path(folder)
        created = _first_missing(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FolderNotWritable(f"{folder}: output folder is not writable ({exc.strerror or exc})") from None
        while True:
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                _remove_empty(created, folder)
                raise FolderNotWritable(f"{folder}: output folder is not writable ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read_pid(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                who = f"process {holder}" if holder else "another process"
                raise FolderBusy(f"{folder}: in use by another {what} ({who} holds {folder / LOCK_NAME}); "
                                 f"wait until it ends, or choose another output folder") from None
            # the previous owner may have removed the file between our open and our lock:
            # then we hold a lock on a name that no longer exists; try again on the new file
            try:
                same = os.stat(folder / LOCK_NAME).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(folder, fd, created)

    def release(self, remove_created: bool = False) -> None:
        """Remove the lock file and let the folder go (also done by the end of the process)."""
        if self._fd is None:
            return
        try:
            (self.folder / LOCK_NAME).unlink(missing_ok=True)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        if remove_created:
            _remove_empty(self._created, self.folder)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of *folder*'s path that does not exist yet (None: it exists)."""
    missing = None
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_empty(created: Path | None, folder: Path) -> None:
    """Remove the empty folders from *folder* up to *created* (those this lock made)."""
    if created is None:
        return
    current = folder
    while True:
        try:
            current.rmdir()
        except OSError:
            return
        if current == created or current == current.parent:
            return
        current = current.parent
