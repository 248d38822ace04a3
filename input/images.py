"""Training images of the V1 model: loading, validation, whitening, fallbacks.

The model (Teichmann, Larisch & Hamker 2021; docs/model.md §1) is trained on
``IMAGES.mat``: ten 512x512 natural scenes pre-whitened by Olshausen & Field (1996,
Nature 381:607) with the filter ``f * exp(-(f/f0)**4)``, f0 = 0.4 N cycles/image.
This module reads that file (or a ``.npy`` copy), validates it, downloads it when
missing, whitens a folder of the user's own photographs the same way, and as a last
resort offline builds a clearly flagged stand-in from photographs bundled with
scikit-image.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import scipy.io
import scipy.sparse
import skimage.color
import skimage.data
import skimage.io
import skimage.transform
import skimage.util
from tqdm import tqdm


REPO_ROOT = Path(__file__).resolve().parent.parent
INPUT_DIR = REPO_ROOT / "input"
# Read-only copy used by tests and benchmarks when the user has none (see shared/data/README.md).
SHARED_IMAGES = REPO_ROOT.parent / "shared" / "data" / "IMAGES.mat"
DEFAULT_URL = "https://www.rctn.org/bruno/sparsenet/IMAGES.mat"
VARIABLE = "IMAGES"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
# Greyscale-convertible photographs shipped inside scikit-image (no pooch download needed):
# textures and natural scenes, the closest offline relatives of the sparsenet scenes.
STAND_IN_NAMES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grass", "gravel",
                  "brick", "moon")


@dataclass(frozen=True)
class Whitening:
    """Olshausen & Field's whitening: the model's numbers (``models.parameters.WHITENING``)."""
    f0_fraction: float         # cutoff f0 of the filter, as a fraction of the image side N (cycles/image)
    variance: float            # variance of each whitened image (unit-free)


class InputDataError(Exception):
    """Invalid or unavailable input data; ``str()`` is one line ``"<path>: <problem>"``."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = " ".join(str(problem).split())   # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.problem}")


def sha256_of_array(array: np.ndarray) -> str:
    """Content hash of an array (dtype, shape and C-order bytes)."""
    h = hashlib.sha256()
    a = np.ascontiguousarray(array)
    h.update(str(a.dtype).encode())
    h.update(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _validate(array, path, patch_size: int) -> np.ndarray:
    """Check everything about an (H, W, n) image stack that would make it unusable, and
    return it as float64; every problem raises InputDataError with one line."""
    if scipy.sparse.issparse(array):
        raise InputDataError(path, f"IMAGES is a sparse matrix of shape {array.shape}; the model needs a dense "
                                   "3-D array (H, W, n) of images (MATLAB: full() of a stack of images)")
    array = np.asarray(array)
    kind = array.dtype.kind
    if array.dtype.names is not None or kind in "OSUV":
        raise InputDataError(path, f"IMAGES is not a numeric array (dtype {array.dtype}; a MATLAB cell, struct "
                                   "or text?)")
    if kind == "c":
        raise InputDataError(path, "IMAGES has complex values; the model needs real intensities")
    if kind == "b":
        raise InputDataError(path, "IMAGES is a logical (true/false) array, not image intensities")
    if kind not in "iuf":
        raise InputDataError(path, f"IMAGES has dtype {array.dtype}, not a number type")
    if array.ndim != 3:
        hint = " (a colour stack must be converted to grey first)" if array.ndim == 4 else ""
        raise InputDataError(path, f"expected a 3-D array (H, W, n), got shape {array.shape}{hint}")
    h, w, n = array.shape
    if n < 1:
        raise InputDataError(path, "no images (last dimension is 0)")
    # The sampler draws corners in [0, H - patch_size), which is empty when H == patch_size.
    if h <= patch_size or w <= patch_size:
        raise InputDataError(path, f"images {h}x{w} are smaller than the patch: need more than "
                                   f"{patch_size} pixels per side")
    images = array.astype(np.float64)
    bad = ~np.isfinite(images)
    if bad.any():
        raise InputDataError(path, f"{int(bad.sum())} non-finite values (NaN or inf)")
    zero = np.flatnonzero(~np.any(images != 0, axis=(0, 1)))
    if zero.size:
        raise InputDataError(path, f"image {_indices(zero)} of {n} (0-based) is all zeros: its Poisson rates "
                                   "cannot be normalised by its largest value")
    return images


def _indices(index) -> str:
    shown = ", ".join(str(int(i)) for i in index[:5])
    return shown + (f" and {len(index) - 5} more" if len(index) > 5 else "")


# Whitened natural scenes (IMAGES.mat): every image has mean 0 (the whitening filter
# removes it) and a variance of 0.014-0.20. Far outside that, the data are usable but
# probably not what the model expects.
CENTRED_MEAN = 0.2            # |mean| / std above this: not centred
VARIANCE_RANGE = (1e-3, 2.0)  # per-image variance outside: far from whitened scenes
# The largest |value - median| of an image in robust standard deviations (1.4826 x the median
# absolute deviation): at most 31 in IMAGES.mat. Far above, one pixel sets the image's rate
# scale (rates are divided by each image's largest value) and the rest of it gives almost no input.
OUTLIER_ROBUST_SD = 100.0


def outlier_images(images: np.ndarray) -> np.ndarray:
    """Indices of the images whose largest deviation from their median is more than
    OUTLIER_ROBUST_SD robust standard deviations (images with MAD 0 are not judged)."""
    median = np.median(images, axis=(0, 1))
    deviation = np.abs(images - median)
    robust_sd = 1.4826 * np.median(deviation, axis=(0, 1))
    peak = deviation.max(axis=(0, 1))
    return np.flatnonzero((robust_sd > 0) & (peak > OUTLIER_ROBUST_SD * np.where(robust_sd > 0, robust_sd, 1)))


def image_warnings(images: np.ndarray, path) -> list[str]:
    """One-line warnings about valid image stacks that are probably not whitened scenes."""
    warnings_ = []
    advice = ("raw photographs? give their folder with --images DIR, which whitens them as the model "
              "expects (Olshausen & Field filter)")
    positive = np.flatnonzero(images.min(axis=(0, 1)) >= 0)
    if positive.size:
        return [f"WARNING: {path}: image {_indices(positive)} has no negative values, so its OFF channel stays "
                f"silent: not whitened scenes ({advice})"]
    negative = np.flatnonzero(images.max(axis=(0, 1)) <= 0)
    if negative.size:
        return [f"WARNING: {path}: image {_indices(negative)} has no positive values, so its ON channel stays "
                f"silent for every patch: whitened scenes have both signs (inverted or shifted data?)"]
    outliers = outlier_images(images)
    for k in outliers[:3]:
        row, col = np.unravel_index(np.argmax(np.abs(images[:, :, k] - np.median(images[:, :, k]))),
                                    images.shape[:2])
        warnings_.append(f"WARNING: {path}: image {k} has an outlier: the value {images[row, col, k]:.3g} at pixel "
                         f"({row}, {col}) lies more than {OUTLIER_ROBUST_SD:g} robust standard deviations from "
                         "the image's median; the rates are divided by each image's largest value, so the other "
                         "patches of this image get almost no input (a corrupted pixel?)")
    if outliers.size > 3:
        warnings_.append(f"WARNING: {path}: {outliers.size - 3} more images have outliers")
    usual = np.ones(images.shape[2], bool)
    usual[outliers] = False                       # their mean and variance say nothing about whitening
    mean, std = images.mean(axis=(0, 1)), images.std(axis=(0, 1))
    var = std ** 2
    flat = np.flatnonzero(std == 0)
    if flat.size:
        warnings_.append(f"WARNING: {path}: image {_indices(flat)} is constant: every input cell of a patch gets "
                         "the same rate")
    off = np.flatnonzero(usual & (std > 0) & (np.abs(mean) > CENTRED_MEAN * np.where(std > 0, std, 1)))
    if off.size:
        warnings_.append(f"WARNING: {path}: image {_indices(off)} is not centred (mean {mean[off[0]]:.3g}, "
                         f"std {std[off[0]]:.3g}); whitened scenes have mean 0 ({advice})")
    far = np.flatnonzero(usual & (std > 0) & ((var < VARIANCE_RANGE[0]) | (var > VARIANCE_RANGE[1])))
    if far.size:
        warnings_.append(f"WARNING: {path}: image {_indices(far)} has variance {var[far[0]]:.3g}, far from that of "
                         f"the whitened scenes of IMAGES.mat (0.014-0.20); the rates are normalised per image, "
                         f"so only a missing whitening matters ({advice})")
    return warnings_


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_plain_hdf5(path: Path) -> bool:
    """An HDF5 file that starts with the HDF5 signature, i.e. without MATLAB's 512-byte header."""
    try:
        with open(path, "rb") as f:
            return f.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


def _read_matlab_v73(path: Path, matlab: bool = True):
    """The IMAGES variable of a MATLAB v7.3 (HDF5) file, in MATLAB's index order; with
    *matlab* False, the IMAGES dataset of a plain HDF5 file, in the order it was stored."""
    import h5py
    what = "" if matlab else "an HDF5 file without the MATLAB header: "
    try:
        with h5py.File(path, "r") as f:
            names = [k for k in f.keys() if not k.startswith("#")]
            if VARIABLE not in f:
                raise InputDataError(path, f"{what}variable '{VARIABLE}' not found (variables: "
                                           f"{', '.join(names) or 'none'})")
            node = f[VARIABLE]
            if not isinstance(node, h5py.Dataset):
                raise InputDataError(path, f"{what}'{VARIABLE}' is a group (a MATLAB struct or cell), not a "
                                           "numeric array")
            data = node[()]
            matlab_class = node.attrs.get("MATLAB_class", b"")
    except OSError as exc:
        raise InputDataError(path, f"not a readable MATLAB v7.3 (HDF5) file ({_describe(exc)})") from None
    if not matlab:
        return np.asarray(data)
    if isinstance(matlab_class, bytes):
        matlab_class = matlab_class.decode(errors="replace")
    if matlab_class == "logical":
        data = data.astype(bool)
    if data.dtype.names and set(data.dtype.names) == {"real", "imag"}:
        data = data["real"] + 1j * data["imag"]        # how MATLAB stores complex arrays
    # MATLAB writes column-major arrays; HDF5 readers see the dimensions reversed.
    return np.asarray(data).T


def load_images(path: str | os.PathLike, *, patch_size: int) -> np.ndarray:
    """Read and validate a whitened image stack, float64 (H, W, n).

    *path* is a MATLAB file (v4-v7.2 read by scipy, v7.3/HDF5 by h5py; variable ``IMAGES``)
    or a ``.npy`` file holding the 3-D array. Any problem raises :class:`InputDataError`
    naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "file not found")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:   # numpy raises ValueError/OSError/EOFError for bad files
            raise InputDataError(path, f"not a readable .npy file ({_describe(exc)})") from None
        return _validate(array, path, patch_size)
    try:
        contents = scipy.io.loadmat(path)
    except NotImplementedError:   # scipy's answer to HDF5-based v7.3 files
        return _validate(_read_matlab_v73(path), path, patch_size)
    except Exception as exc:      # scipy raises many types for garbage/truncated files
        if is_plain_hdf5(path):   # written by h5py, say, not by MATLAB: read as stored
            return _validate(_read_matlab_v73(path, matlab=False), path, patch_size)
        raise InputDataError(path, f"not a readable MATLAB file ({_describe(exc)})") from None
    if VARIABLE not in contents:
        names = ", ".join(k for k in contents if not k.startswith("__")) or "none"
        raise InputDataError(path, f"variable '{VARIABLE}' not found (variables: {names})")
    return _validate(contents[VARIABLE], path, patch_size)


def _centre_square(image: np.ndarray, side: int | None = None) -> np.ndarray:
    """Centre crop to a side x side square (default: the shorter side)."""
    h, w = image.shape[:2]
    side = min(h, w) if side is None else side
    top, left = (h - side) // 2, (w - side) // 2
    return image[top:top + side, left:left + side]


def whiten(image: np.ndarray, whitening: Whitening) -> np.ndarray:
    """Whiten and low-pass one greyscale image after Olshausen & Field (1996).

    The image is centre-cropped to its largest square, N x N. In the 2-D Fourier domain
    it is multiplied by ``f * exp(-(f / f0)**4)``, f the radial frequency in cycles/image
    and f0 = whitening.f0_fraction * N: the ramp f flattens the ~1/f amplitude spectrum of
    natural scenes, the exponential removes the highest frequencies (noise, aliasing). The
    filter is zero at f = 0, so the result has zero mean; it is then scaled to variance
    whitening.variance (the model's 0.1 is the sparsenet convention; IMAGES.mat itself has
    per-image std 0.12-0.45). The scale is immaterial to the model, whose rates are divided by
    each image's maximum. Returns float64 (N, N).
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"whiten expects a 2-D greyscale image, got shape {image.shape}")
    image = _centre_square(image)
    white = whiten_unscaled(image, whitening.f0_fraction)
    std = white.std()
    if not std > 0:
        raise ValueError("image has no contrast to whiten (constant after filtering)")
    return white * (np.sqrt(whitening.variance) / std)


def whitening_filter(n: int, f0_fraction: float) -> np.ndarray:
    """Olshausen & Field's filter ``f * exp(-(f / f0)**4)`` on the (n, n) FFT grid (unshifted
    order), f the radial frequency in cycles/image and f0 = f0_fraction * n."""
    f = np.fft.fftfreq(n) * n
    rho = np.hypot(f[:, None], f[None, :])
    return rho * np.exp(-(rho / (f0_fraction * n)) ** 4)


def whiten_unscaled(images: np.ndarray, f0_fraction: float) -> np.ndarray:
    """Square images (..., n, n) filtered with :func:`whitening_filter`, not rescaled."""
    images = np.asarray(images, dtype=np.float64)
    n = images.shape[-1]
    if images.shape[-2] != n:
        raise ValueError(f"whitening needs square images, got {images.shape[-2:]}")
    return np.real(np.fft.ifft2(np.fft.fft2(images) * whitening_filter(n, f0_fraction)))


def _to_grey(image: np.ndarray) -> np.ndarray:
    """Any skimage-readable picture -> float64 greyscale in [0, 1]."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 4:
        image = skimage.color.rgba2rgb(image)
    if image.ndim == 3 and image.shape[-1] == 3:
        image = skimage.color.rgb2gray(image)
    if image.ndim != 2:
        raise ValueError(f"not a greyscale or RGB(A) picture (shape {image.shape})")
    return skimage.util.img_as_float64(image)


def whiten_folder(folder: str | os.PathLike, *, patch_size: int, whitening: Whitening) -> np.ndarray:
    """Whiten every picture (png/jpg/tif/bmp) of *folder* into one (N, N, n) stack.

    Files are taken in sorted name order, converted to grey, centre-cropped to the
    smallest square side N found among them, and whitened with :func:`whiten`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(folder, "not a folder")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputDataError(folder, f"no image files ({', '.join(IMAGE_SUFFIXES)})")
    greys = []
    for file in files:
        try:
            greys.append(_to_grey(skimage.io.imread(file)))
        except Exception as exc:   # imageio/PIL raise assorted types (and plugin advice) for unreadable files
            kind = file.suffix.lower().lstrip(".").upper()
            raise InputDataError(file, f"unreadable image: the file is damaged or not a {kind} picture "
                                       f"({type(exc).__name__})") from None
    side = min(min(g.shape) for g in greys)
    if side <= patch_size:
        small = files[[min(g.shape) for g in greys].index(side)]
        raise InputDataError(small, f"image side {side} is smaller than the patch: need more "
                                    f"than {patch_size} pixels")
    stack = []
    for file, grey in zip(files, greys):
        try:
            stack.append(whiten(_centre_square(grey, side), whitening))
        except ValueError as exc:
            raise InputDataError(file, str(exc)) from None
    return np.stack(stack, axis=-1)


def stand_in_images(whitening: Whitening, size: int = 512) -> np.ndarray:
    """Offline stand-in for IMAGES.mat: (size, size, 9) whitened scikit-image photographs.

    Each photograph in STAND_IN_NAMES is made grey, centre-cropped to a square, resized
    to size x size (anti-aliased) and whitened with :func:`whiten`. These are not the
    published training images; results obtained with them are not the model's.
    """
    stack = []
    for name in STAND_IN_NAMES:
        grey = _centre_square(_to_grey(getattr(skimage.data, name)()))
        grey = skimage.transform.resize(grey, (size, size), anti_aliasing=True)
        stack.append(whiten(grey, whitening))
    return np.stack(stack, axis=-1)


def download_images(dest: str | os.PathLike, url: str = DEFAULT_URL, timeout: float = 30, *,
                    patch_size: int) -> Path:
    """Download IMAGES.mat from *url* to *dest*, validated, atomically.

    Bytes go to a temporary file beside *dest* (progress bar on stderr), which is
    checked with :func:`load_images` and only then renamed onto *dest*. Network errors
    (including a *timeout*, in seconds, on connect and on each read) and invalid content
    raise :class:`InputDataError`; no partial file is left behind.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                total = int(resp.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {dest.name}",
                          file=sys.stderr) as bar:
                    while chunk := resp.read(1 << 16):
                        out.write(chunk)
                        bar.update(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (OSError, http.client.HTTPException) as exc:   # URLError and timeouts are OSErrors
            raise InputDataError(url, f"download failed ({_describe(exc)})") from None
        try:
            load_images(tmp, patch_size=patch_size)
        except InputDataError as exc:
            raise InputDataError(url, f"downloaded file is invalid: {exc.problem}") from None
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


@dataclass
class ImageSource:
    """The image stack a run trains on, and where it came from."""
    images: np.ndarray        # float64 (H, W, n), whitened
    path: str | None          # file or folder read; None for the stand-in
    origin: str               # "file" | "downloaded" | "folder" | "stand-in"
    sha256: str               # sha256_of_array(images)
    warning: str | None       # set when the data are probably not (or not) the published training set


def _checked_file(path: Path, origin: str, patch_size: int, log) -> ImageSource:
    """A file read with :func:`load_images`; warnings about its content are logged and kept."""
    images = load_images(path, patch_size=patch_size)
    if path.suffix.lower() != ".npy" and is_plain_hdf5(path):
        log(f"note: {path}: an HDF5 file without the MATLAB header; its IMAGES dataset is read in the "
            f"order it was stored, (H, W, n) = {images.shape}")
    warnings_ = image_warnings(images, path)
    for line in warnings_:
        log(line)
    return _source(images, path, origin, "\n".join(warnings_) or None)


def _source(images, path, origin, warning=None) -> ImageSource:
    return ImageSource(images, None if path is None else str(path), origin,
                       sha256_of_array(images), warning)


def resolve_images(path: str | os.PathLike | None = None, *, patch_size: int, whitening: Whitening,
                   input_dir: str | os.PathLike = INPUT_DIR, download: bool = True,
                   log: Callable[[str], object] = print) -> ImageSource:
    """Find the training images.

    With *path*: a folder is whitened (*whitening*) with :func:`whiten_folder`, a file is read with
    :func:`load_images` (warnings about its content, :func:`image_warnings`, go to *log*
    and ``.warning``); anything else is an error. Without: ``<input_dir>/IMAGES.mat``;
    else a download into that place (if *download*); else the shared read-only copy
    SHARED_IMAGES; else the scikit-image stand-in, with a multi-line warning sent to
    *log* and kept in ``.warning``. A present but invalid file is an error, never
    silently replaced.
    """
    if path is not None:
        path = Path(path)
        if path.is_dir():
            return _source(whiten_folder(path, patch_size=patch_size, whitening=whitening), path, "folder")
        if path.is_file():
            return _checked_file(path, "file", patch_size, log)
        raise InputDataError(path, "no such file or folder")

    local = Path(input_dir) / "IMAGES.mat"
    if local.is_file():
        return _checked_file(local, "file", patch_size, log)
    if download:
        try:
            download_images(local, patch_size=patch_size)
            return _checked_file(local, "downloaded", patch_size, log)
        except InputDataError as exc:
            why = f"download failed: {exc}"
    else:
        why = "download disabled"
    if SHARED_IMAGES.is_file():
        log(f"using the shared copy of the training images: {SHARED_IMAGES} ({why})")
        return _checked_file(SHARED_IMAGES, "file", patch_size, log)

    warning = "\n".join([
        "WARNING: the training images IMAGES.mat (Olshausen & Field 1996) are not available.",
        f"  looked for: {local}",
        f"              {SHARED_IMAGES}",
        f"  {why}",
        f"  Falling back to {len(STAND_IN_NAMES)} scikit-image photographs whitened here "
        "(a STAND-IN):",
        "  receptive fields and statistics will NOT match the published model.",
        f"  Fix: download {DEFAULT_URL} into {local}",
    ])
    log(warning)
    return _source(stand_in_images(whitening), None, "stand-in", warning)
