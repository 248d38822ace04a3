"""Image data sets of the object-recognition evaluation, each with a fixed train/test split.

* ``digits``: the 8x8 handwritten digits bundled with scikit-learn (1,797 images, offline),
  scaled from 0-16 to 0-255 and upsampled to 28x28 (bilinear); a fixed stratified split,
  half for training and half for testing (``random_state=0``).
* ``mnist``, ``fashion-mnist``: the IDX files of the original distributions
  (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``) in ``--data DIR``; without
  ``--data``, a system-wide copy (Fashion-MNIST: Debian's ``dataset-fashion-mnist`` package,
  ``/usr/share/datasets/fashion-mnist``), then scikit-learn's OpenML fetcher (cached in
  ``~/scikit_learn_data``): 60,000 / 10,000.
* ``emnist-balanced``: the IDX files of EMNIST balanced (``emnist-balanced-train-images-idx3-
  ubyte[.gz]``, ... ``test`` ...) in ``--data DIR``; their images are stored transposed and
  are turned upright here. 112,800 / 18,800 images, 47 classes. No OpenML copy is used.
* ``cifar10``: the python version (``data_batch_1`` ... ``data_batch_5``, ``test_batch``,
  optionally in ``cifar-10-batches-py/``) in ``--data DIR``, or OpenML: 50,000 / 10,000.
* ``svhn``: the cropped-digit MATLAB files (``train_32x32.mat``, ``test_32x32.mat``) in
  ``--data DIR``, or OpenML; label 10 (the digit 0) becomes 0. 73,257 / 26,032.

* ``folder``: one sub-folder of images per class in ``--data DIR`` (png, jpg, ...; grey or
  colour, any size); ``eth80``: ETH-80 as distributed (``eth80-cropped256``: a folder per
  object, ``apple1`` ... ``tomato10``, 41 views each); ``caltech-fm``: Caltech-101's
  ``Faces`` and ``Motorbikes`` folders (``101_ObjectCategories``). These have no fixed split
  (``PooledDataset``, ``random_splits``); pictures larger than 32 px are resized to 126 x 126.

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

DATASETS = ("digits", "mnist", "fashion-mnist", "emnist-balanced", "cifar10", "svhn", "folder", "eth80", "caltech-fm")
# OpenML copies, with the number of leading rows that form the training split
OPENML = {"mnist": ("mnist_784", 554, 60_000), "fashion-mnist": ("Fashion-MNIST", 40996, 60_000),
          "cifar10": ("CIFAR_10", 40927, 50_000), "svhn": ("SVHN", 41081, 73_257)}
# folders where system packages install a data set (Debian: apt-get install dataset-fashion-mnist)
SYSTEM_COPIES = {"fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),)}
INSTALL_HINT = {"fashion-mnist": "apt-get install dataset-fashion-mnist, or "}
CLASS_NAMES = {"fashion-mnist": ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                                 "sneaker", "bag", "ankle boot"]}
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

    def first(self, n_train: int | None, n_test: int | None) -> "Dataset":
        """The first *n_train* training and *n_test* test images (the subsets a published
        read-out used; None: all)."""
        if (n_train is None or n_train >= len(self.train_labels)) and (n_test is None or n_test >= len(self.test_labels)):
            return self
        return Dataset(self.name, self.train_images[:n_train], self.train_labels[:n_train], self.test_images[:n_test],
                       self.test_labels[:n_test], self.classes, self.source,
                       self.split + f"; the first {n_train} training and {n_test} test images (the published read-out)",
                       self.extra)

    def limited(self, limit: int | None) -> "Dataset":
        """*limit* images of each split (all with None), stratified: the first image of every
        class, then the second of every class, and so on, so that every class is shown as far
        as *limit* allows. A smaller limit takes a prefix of a larger one's images."""
        if limit is None:
            return self
        train, test = stratified_first(self.train_labels, limit), stratified_first(self.test_labels, limit)
        return Dataset(self.name, self.train_images[train], self.train_labels[train], self.test_images[test],
                       self.test_labels[test], self.classes, self.source,
                       self.split + f"; {limit} images of each split, class by class (--limit)", self.extra)


def stratified_first(labels: np.ndarray, limit: int) -> np.ndarray:
    """Indices of *limit* images taken class by class: the first of every class (in the order
    of the labels' values), then the second of every class, ..."""
    labels = np.asarray(labels)
    rank = np.empty(len(labels), dtype=np.int64)          # position of each image within its class
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        rank[members] = np.arange(len(members))
    order = np.lexsort((labels, rank))                      # by rank, then by class
    return order[:limit]


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
    classes = CLASS_NAMES.get(name) or sorted(set(ytr.tolist()) | set(yte.tolist()))
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
                           f"); {INSTALL_HINT.get(name, '')}put {where} in a folder and give it with --data DIR") from None
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target).astype(np.int64)
    if name in ("cifar10", "svhn"):             # OpenML rows: channel-major 3 x 32 x 32
        x = x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        if name == "svhn":
            y[y == 10] = 0
    else:
        x = x.reshape(-1, 28, 28)
    return Dataset(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], CLASS_NAMES.get(name) or sorted(set(y.tolist())),
                   f"OpenML {title} (data_id {data_id}) via scikit-learn",
                   f"the first {n_train} rows for training, the rest for testing (the original order)")


def load_dataset(name: str, data_dir=None, side: int | None = None):
    """The data set *name* (see the module docstring); *data_dir*: a local copy; *side*: the
    side larger pictures of image folders are resized to (default RESIZED_SIDE)."""
    if name not in DATASETS:
        raise DatasetError(f"{name}: unknown data set (one of {', '.join(DATASETS)})")
    if name == "digits":
        return _digits()
    if name in POOLED:
        if data_dir is None:
            raise DatasetError(f"{name}: give the folder of its images with --data DIR")
        return POOLED[name](data_dir, side or RESIZED_SIDE)
    if data_dir is not None:
        folder = Path(data_dir)
        if not folder.is_dir():
            raise DatasetError(f"{folder}: no such folder (--data)")
        if name in ("mnist", "fashion-mnist", "emnist-balanced"):
            return _local_idx(name, folder)
        return _local_cifar(folder) if name == "cifar10" else _local_svhn(folder)
    for folder in SYSTEM_COPIES.get(name, ()):
        if folder.is_dir():
            return _local_idx(name, folder)
    if name == "emnist-balanced":
        raise DatasetError("emnist-balanced: needs a local copy: put the EMNIST balanced IDX files "
                           "(emnist-balanced-{train,test}-{images-idx3,labels-idx1}-ubyte.gz) in a folder "
                           "and give it with --data DIR")
    return _openml(name)


# -- image folders: no fixed split; the read-out is repeated over random splits ----------------------
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".pgm", ".ppm")
SMALL_SIDE = 32                     # images up to this side keep their size (four corner crops)
RESIZED_SIDE = 126                  # larger images are resized to this side (a grid of crops)
N_SPLITS = 20
CALTECH_TRAIN_PER_CLASS = 200
CALTECH_CLASSES = ("Faces", "Motorbikes")


@dataclass
class PooledDataset:
    """Images without a fixed split (image folders, ETH-80, Caltech): the read-out is refitted
    on random splits of the pool. ``groups``: the object each image shows (ETH-80), whose
    images are never split between training and test and are whitened together."""
    name: str
    images: np.ndarray
    labels: np.ndarray
    classes: list
    source: str
    split: str                       # how the random splits are drawn
    groups: np.ndarray | None = None
    group_names: list = field(default_factory=list)
    resized_to: int | None = None    # the side the images were resized to (None: kept)

    @property
    def image_size(self) -> int:
        return int(self.images.shape[1])


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _picture_size(path: Path) -> tuple[int, int]:
    """(height, width) of a picture, from its header."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            return image.size[1], image.size[0]
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DatasetError(f"{path}: unreadable image ({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def read_image(path: Path, side: int | None = None) -> np.ndarray:
    """One picture in 0-255: (H, W) grey or (H, W, 3) colour (alpha dropped); with *side*
    resized to side x side (bilinear, anti-aliased) and rounded to bytes, as published."""
    from PIL import Image, UnidentifiedImageError
    from skimage.transform import resize
    try:
        with Image.open(path) as image:
            image = image.convert("RGB" if image.mode not in ("1", "L", "I", "I;16", "F") else "F")
            array = np.asarray(image, dtype=np.float64)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise DatasetError(f"{path}: unreadable image ({type(exc).__name__}: {_first_line(exc)})") from None
    if array.ndim == 2 and array.max(initial=0) > 255:          # 16-bit grey
        array = array * (255.0 / 65535.0)
    if array.ndim == 3 and np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2]):
        array = array[..., 0]                                     # grey stored as colour
    if side is None:
        return array
    return np.clip(np.rint(resize(array, (side, side), order=1, anti_aliasing=True, preserve_range=True)),
                   0, 255).astype(np.uint8)


def read_images(paths: list[Path], side: int = RESIZED_SIDE) -> tuple[np.ndarray, int | None]:
    """Pictures of any size -> one (n, S, S[, 3]) array, and the side they were resized to.

    Square pictures of one size up to SMALL_SIDE pixels keep it; otherwise every picture is
    resized to side x side as it is read (non-square pictures are stretched). Grey pictures
    among colour ones become three equal channels (their luminance is unchanged)."""
    sizes = [_picture_size(p) for p in paths]                  # every file checked before any is decoded
    h, w = sizes[0]
    keep = all(size == (h, w) for size in sizes) and h == w <= SMALL_SIDE
    pictures = [read_image(p, None if keep else side) for p in paths]
    if any(im.ndim == 3 for im in pictures):
        pictures = [im if im.ndim == 3 else np.repeat(im[..., None], 3, axis=2) for im in pictures]
    return np.stack(pictures), None if keep else side


def _class_folders(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (--data)")
    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{folder}: no class folders (expected one sub-folder of images per class)")
    return classes


def _class_files(folders: list[Path]) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for label, sub in enumerate(folders):
        found = _image_files(sub)
        if not found:
            raise DatasetError(f"{sub}: no images ({', '.join(IMAGE_SUFFIXES)})")
        files += found
        labels += [label] * len(found)
    return files, np.array(labels, dtype=np.int64)


def _needs_two(folder: Path, classes: list) -> None:
    if len(classes) < 2:
        raise DatasetError(f"{folder}: {len(classes)} class folder(s) with images; a classifier needs at least two")


def load_folder(folder, side: int = RESIZED_SIDE) -> PooledDataset:
    """One sub-folder of images per class (its name is the class); images of any size."""
    folder = Path(folder)
    subs = _class_folders(folder)
    _needs_two(folder, subs)
    files, labels = _class_files(subs)
    x, resized = read_images(files, side)
    return PooledDataset("folder", x, labels, [s.name for s in subs], f"image folders in {folder}",
                         "random stratified splits, half of every class for training", resized_to=resized)


def _caltech_root(folder: Path) -> Path:
    for candidate in (folder, folder / "101_ObjectCategories", folder / "caltech-101" / "101_ObjectCategories",
                      folder / "caltech101" / "101_ObjectCategories"):
        if all((candidate / c).is_dir() for c in CALTECH_CLASSES):
            return candidate
    raise DatasetError(f"{folder}: no Faces/ and Motorbikes/ folders (Caltech-101's 101_ObjectCategories)")


def load_caltech_fm(folder, side: int = RESIZED_SIDE) -> PooledDataset:
    """Caltech-101 faces against motorbikes, read from the distribution's 101_ObjectCategories."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (--data)")
    root = _caltech_root(folder)
    files, labels = _class_files([root / c for c in CALTECH_CLASSES])
    x, resized = read_images(files, side)
    return PooledDataset("caltech-fm", x, labels, list(CALTECH_CLASSES), f"Caltech-101 Faces and Motorbikes in {root}",
                         f"random splits, a number of images of every class for training (published: {CALTECH_TRAIN_PER_CLASS}), "
                         "the rest for testing", resized_to=resized)


def _eth80_objects(folder: Path) -> list[Path]:
    """Object folders (``apple1``, ``car11``, ...) at the top or one category level down."""
    import re
    pattern = re.compile(r"^([A-Za-z]+)(\d+)$")
    found = []
    for level in (folder.iterdir(), (p for d in folder.iterdir() if d.is_dir() for p in d.iterdir())):
        found += [p for p in level if p.is_dir() and pattern.match(p.name)]
    return sorted(found, key=lambda p: (pattern.match(p.name)[1], int(pattern.match(p.name)[2])))


def load_eth80(folder, side: int = RESIZED_SIDE) -> PooledDataset:
    """ETH-80 (cropped256): one folder per object (``apple1`` ... ``tomato10``: 8 categories x 10
    objects), 41 views each (``apple1-000-000.png``, ...); the segmentation ``maps/`` are not read."""
    import re
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: no such folder (--data)")
    objects = _eth80_objects(folder)
    if not objects:
        raise DatasetError(f"{folder}: no ETH-80 object folders (apple1, car1, ...; the eth80-cropped256 layout)")
    categories = sorted({re.match(r"^[A-Za-z]+", p.name)[0] for p in objects})
    _needs_two(folder, categories)
    files, labels, groups = [], [], []
    for g, obj in enumerate(objects):
        views = _image_files(obj)
        if not views:
            raise DatasetError(f"{obj}: no images of the object's views")
        files += views
        labels += [categories.index(re.match(r"^[A-Za-z]+", obj.name)[0])] * len(views)
        groups += [g] * len(views)
    x, resized = read_images(files, side)
    return PooledDataset("eth80", x, np.array(labels, dtype=np.int64), categories, f"ETH-80 object folders in {folder}",
                         "random object splits, half of the objects of every category for training, "
                         "the others for testing", groups=np.array(groups, dtype=np.int64),
                         group_names=[p.name for p in objects], resized_to=resized)


POOLED = {"folder": load_folder, "eth80": load_eth80, "caltech-fm": load_caltech_fm}


def random_splits(data: PooledDataset, n_splits: int, seed: int = 0,
                  train_per_class: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training, test) image indices of *n_splits* random splits: with groups, half of the
    groups (objects) of every class for training; else *train_per_class* images of every class
    (default: half of the class). Every split uses every image once."""
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(n_splits):
        train = []
        for label in range(len(data.classes)):
            members = np.flatnonzero(data.labels == label)
            if data.groups is not None:
                objects = np.unique(data.groups[members])
                if len(objects) < 2:
                    raise DatasetError(f"{data.name}: class {data.classes[label]} has {len(objects)} object(s); "
                                       "an object split needs at least two")
                chosen = rng.choice(objects, size=len(objects) // 2, replace=False)
                train.append(members[np.isin(data.groups[members], chosen)])
            else:
                k = len(members) // 2 if train_per_class is None else train_per_class
                if not 0 < k < len(members):
                    raise DatasetError(f"{data.name}: class {data.classes[label]} has {len(members)} images; "
                                       f"{k} for training leaves none for testing")
                train.append(rng.choice(members, size=k, replace=False))
        train_index = np.sort(np.concatenate(train))
        splits.append((train_index, np.setdiff1d(np.arange(len(data.labels)), train_index)))
    return splits
