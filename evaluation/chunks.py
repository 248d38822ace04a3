"""Finished chunks of features, kept in the output folder until the evaluation is complete.

An evaluation simulates its images in chunks (one model, one split, a few images). Every
finished chunk is written at once, atomically, as ``OUT/DATASET/chunks/<model>-<key>-<split>-
<start>.npz``, where <key> names the model's features (data, protocol, weights, seed:
``evaluation.cli.cache_key``). After Ctrl-C, a kill or a lost worker, ``evaluate.py --resume``
reads the chunks of the same key and simulates only the others. A chunk's features depend
only on its images and the seed (``evaluation.simulate``), so the features assembled from
old and new chunks are those of an uninterrupted run, bit for bit. When the features are
complete (``features.npz``), the chunks are removed.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

FOLDER = "chunks"
_NAME = re.compile(r"^(?P<model>[a-z]+)-(?P<key>[0-9a-f]{16})-(?P<split>train|test)-(?P<start>\d+)\.npz$")


class ChunkStore:
    """The chunks folder of one output folder, for the models' feature keys *keys*."""

    def __init__(self, out: Path, keys: dict):
        self.folder = Path(out) / FOLDER
        self.keys = {model: key[:16] for model, key in keys.items()}

    def _path(self, model: str, split: str, start: int) -> Path:
        return self.folder / f"{model}-{self.keys[model]}-{split}-{start}.npz"

    def finished(self) -> list[tuple[str, str, int]]:
        """(model, split, start) of every finished chunk of these keys."""
        found = []
        if self.folder.is_dir():
            for path in sorted(self.folder.iterdir()):
                m = _NAME.match(path.name)
                if m and self.keys.get(m["model"]) == m["key"]:
                    found.append((m["model"], m["split"], int(m["start"])))
        return found

    def load(self, model: str, split: str, start: int) -> dict | None:
        """The features of a finished chunk (pop -> array), None if unreadable."""
        try:
            with np.load(self._path(model, split, start), allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError):
            return None

    def save(self, model: str, split: str, start: int, features: dict) -> None:
        from runs.files import atomic_write
        atomic_write(self._path(model, split, start), lambda f: np.savez(f, **features))

    def clear(self) -> None:
        """Remove the chunks of these keys (the features are complete), and the folder if empty."""
        for model, split, start in self.finished():
            self._path(model, split, start).unlink(missing_ok=True)
        try:
            self.folder.rmdir()
        except OSError:
            pass
