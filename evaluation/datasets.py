"""Image data sets of the object-recognition evaluation, each with a fixed train/test split.

* ``digits``: the 8x8 handwritten digits bundled with scikit-learn (1,797 images, offline),
  scaled from 0-16 to 0-255 and upsampled to 28x28 (bilinear); a fixed stratified split,
  half for training and half for testing (``random_state=0``).
* ``mnist``, ``fashion-mnist``: the IDX files of the original distributions
  (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``) in ``--data DIR``, or
  scikit-learn's OpenML fetcher (cached in ``~/scikit_learn_data``): 60,000 / 10,000.
* ``emnist-balanced``: the IDX files of EMNIST balanced (``emnist-balanced-train-images-idx3-
  ubyte[.gz]``, ... ``test`` ...) in ``--data DIR``; their images are stored transposed and
  are turned upright here. 112,800 / 18,800 images, 47 classes. No OpenML copy is used.
* ``cifar10``: the python version (``data_batch_1`` ... ``data_batch_5``, ``test_batch``,
  optionally in ``cifar-10-batches-py/``) in ``--data DIR``, or OpenML: 50,000 / 10,000.
* ``svhn``: the cropped-digit MATLAB files (``train_32x32.mat``, ``test_32x32.mat``) in
  ``--data DIR``, or OpenML; label 10 (the digit 0) becomes 0. 73,257 / 26,032.

Images come back as uint8-range arrays, (n, H, W) grey or (n, H, W, 3) colour. Every
problem (offline without a copy, missing or malformed file) raises ``DatasetError`` with
one line naming the data set or file and what to do.
"""
from __future__ import annotations

import gzip
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATASETS = ("digits", "mnist", "fashion-mnist", "emnist-balanced", "cifar10", "svhn")
# OpenML copies, with the number of leading rows that form the training split
OPENML = {"mnist": ("mnist_784", 554, 60_000), "fashion-mnist": ("Fashion-MNIST", 40996, 60_000),
          "cifar10": ("CIFAR_10", 40927, 50_000), "svhn": ("SVHN", 41081, 73_257)}
DIGITS_TEST_FRACTION = 0.5
DIGITS_SIZE = 28


class DatasetError(Exception):
    """A data set that cannot be loaded: one line naming it and what to do."""


@dataclass
class Dataset:
    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: list
    source: str                      # where the images came from
    split: str                       # how the train/test split was made
    extra: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[1])

    def limited(self, limit: int | None) -> "Dataset":
        """The first *limit* images of each split (all with None)."""
        if limit is None:
            return self
        return Dataset(self.name, self.train_images[:limit], self.train_labels[:limit], self.test_images[:limit],
                       self.test_labels[:limit], self.classes, self.source,
                       self.split + f"; the first {limit} images of each split (--limit)", self.extra)


# -- file formats ----------------------------------------------------------------------------------
def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (LeCun's format of MNIST and EMNIST): big-endian header, uint8 data."""
    try:
        with _open(path) as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: unreadable ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DatasetError(f"{path}: {len(data) - header} data bytes, the header says shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(folder: Path, names, dataset: str) -> Path:
    for name in names:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    raise DatasetError(f"{folder}: no {names[0]}[.gz] ({dataset}): put the data set's files there")


def _idx_pair(folder: Path, images: str, labels: str, dataset: str):
    x = read_idx(_find(folder, [images], dataset))
    y = read_idx(_find(folder, [labels], dataset))
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DatasetError(f"{folder}: {images} has shape {x.shape}, {labels} {y.shape}: not images and labels")
    return x, y.astype(np.int64)


def _local_idx(name: str, folder: Path) -> Dataset:
    if name == "emnist-balanced":
        stems = ("emnist-balanced-train-images-idx3-ubyte", "emnist-balanced-train-labels-idx1-ubyte",
                 "emnist-balanced-test-images-idx3-ubyte", "emnist-balanced-test-labels-idx1-ubyte")
    else:
        stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte")
    xtr, ytr = _idx_pair(folder, stems[0], stems[1], name)
    xte, yte = _idx_pair(folder, stems[2], stems[3], name)
    if name == "emnist-balanced":              # EMNIST stores every image transposed
        xtr, xte = xtr.transpose(0, 2, 1), xte.transpose(0, 2, 1)
    classes = sorted(set(ytr.tolist()) | set(yte.tolist()))
    return Dataset(name, xtr, ytr, xte, yte, classes, f"IDX files in {folder}", "the distribution's own split")


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise DatasetError(f"{path}: not a CIFAR-10 batch ({type(exc).__name__}: {exc})") from None


def _cifar_batch(path: Path):
    batch = _unpickle(path)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{path}: a CIFAR-10 batch holds b'data' and b'labels'") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DatasetError(f"{path}: data of shape {data.shape}, expected (n, 3072)")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _local_cifar(folder: Path) -> Dataset:
    base = folder / "cifar-10-batches-py" if (folder / "cifar-10-batches-py").is_dir() else folder
    parts = [_cifar_batch(_find(base, [f"data_batch_{k}"], "cifar10")) for k in range(1, 6)]
    xte, yte = _cifar_batch(_find(base, ["test_batch"], "cifar10"))
    classes = list(range(10))
    meta = base / "batches.meta"
    if meta.is_file():
        names = _unpickle(meta).get(b"label_names")
        if names:
            classes = [n.decode() for n in names]
    return Dataset("cifar10", np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                   xte, yte, classes, f"CIFAR-10 python batches in {base}", "the distribution's own split")


def _svhn_file(path: Path):
    import scipy.io
    try:
        contents = scipy.io.loadmat(path)
        x, y = contents["X"], contents["y"]
    except (KeyError, ValueError, OSError, NotImplementedError) as exc:
        raise DatasetError(f"{path}: not an SVHN file with X and y ({type(exc).__name__}: {exc})") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.size:
        raise DatasetError(f"{path}: X of shape {x.shape}, expected (32, 32, 3, n) with n labels")
    labels = y.ravel().astype(np.int64)
    labels[labels == 10] = 0                   # SVHN writes the digit 0 as 10
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2)), labels


def _local_svhn(folder: Path) -> Dataset:
    xtr, ytr = _svhn_file(_find(folder, ["train_32x32.mat"], "svhn"))
    xte, yte = _svhn_file(_find(folder, ["test_32x32.mat"], "svhn"))
    return Dataset("svhn", xtr, ytr, xte, yte, list(range(10)), f"SVHN MATLAB files in {folder}",
                   "the distribution's own split")


# -- loaders ---------------------------------------------------------------------------------------
def _digits(seed_split: int = 0) -> Dataset:
    from skimage.transform import resize
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    small = digits.images * (255.0 / 16.0)
    images = np.stack([resize(im, (DIGITS_SIZE, DIGITS_SIZE), order=1, anti_aliasing=False) for im in small])
    index = np.arange(len(images))
    train, test = train_test_split(index, test_size=DIGITS_TEST_FRACTION, stratify=digits.target,
                                   random_state=seed_split)
    return Dataset("digits", images[train], digits.target[train], images[test], digits.target[test],
                   list(range(10)), "scikit-learn load_digits (8x8, 0-16), scaled to 0-255 and upsampled to "
                   "28x28 (bilinear)", f"stratified, {DIGITS_TEST_FRACTION:.0%} test, random_state={seed_split}",
                   extra={"train_index": train.tolist(), "test_index": test.tolist()})


def _openml(name: str) -> Dataset:
    from sklearn.datasets import fetch_openml
    title, data_id, n_train = OPENML[name]
    try:
        bunch = fetch_openml(data_id=data_id, as_frame=False, parser="liac-arff")
    except Exception as exc:        # offline: URLError/OSError; a changed server: anything
        where = {"mnist": "the four MNIST IDX files", "fashion-mnist": "the four Fashion-MNIST IDX files",
                 "cifar10": "the CIFAR-10 python batches (cifar-10-batches-py)",
                 "svhn": "train_32x32.mat and test_32x32.mat"}[name]
        raise DatasetError(f"{name}: not available ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                           f"); put {where} in a folder and give it with --data DIR") from None
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target).astype(np.int64)
    if name in ("cifar10", "svhn"):             # OpenML rows: channel-major 3 x 32 x 32
        x = x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        if name == "svhn":
            y[y == 10] = 0
    else:
        x = x.reshape(-1, 28, 28)
    return Dataset(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], sorted(set(y.tolist())),
                   f"OpenML {title} (data_id {data_id}) via scikit-learn",
                   f"the first {n_train} rows for training, the rest for testing (the original order)")


def load_dataset(name: str, data_dir=None) -> Dataset:
    """The data set *name* (see the module docstring); *data_dir*: a local copy."""
    if name not in DATASETS:
        raise DatasetError(f"{name}: unknown data set (one of {', '.join(DATASETS)})")
    if name == "digits":
        return _digits()
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (--data)")
        if name in ("mnist", "fashion-mnist", "emnist-balanced"):
            return _local_idx(name, folder)
        return _local_cifar(folder) if name == "cifar10" else _local_svhn(folder)
    if name == "emnist-balanced":
        raise DatasetError("emnist-balanced: needs a local copy: put the EMNIST balanced IDX files "
                           "(emnist-balanced-{train,test}-{images-idx3,labels-idx1}-ubyte.gz) in a folder "
                           "and give it with --data DIR")
    return _openml(name)
