"""Input stage (docs/model.md §1): loading, whitening, ON/OFF patches, rank order.

Expected values are written by hand or derived from independently seeded generators,
never taken from the code under test.
"""
import hashlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import skimage.io

from conftest import find_training_images
from input import images as images_mod
from input.images import (InputDataError, Whitening, download_images, image_warnings, load_images,
                          resolve_images, whiten, whiten_folder)
from input.patches import PatchSampler, on_off_split, rates_to_ranks, weights_to_onoff

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_IMAGES = find_training_images()       # input/IMAGES.mat, else ../shared/data/IMAGES.mat
SHARED_SHA256 = "5a007348ea50c47888d6e115d72bc4403f96fd06edb2710b9c6ced8559612f93"
PS = 18                  # the model's patch size (docs/model.md §1)
WHITE = Whitening(f0_fraction=0.4, variance=0.1)     # the model's whitening (docs/model.md §1)


# --- ON/OFF split and rates ----------------------------------------------------------

def test_on_off_split_hand_made():
    x = np.array([[1.5, -2.0], [0.0, -0.25]])[:, :, None]          # (2, 2, 1)
    onoff = on_off_split(x)
    assert onoff.shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(onoff[:, :, 0, 0], [[1.5, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(onoff[:, :, 1, 0], [[0.0, 2.0], [0.0, 0.25]])


# 4x4 image, max |x| = 4 at (2, 2); with patch size 2 the corners are x, y in {0, 1}.
IMG0 = np.array([[1.0, -2.0, 0.0, 0.5],
                 [0.0, 2.0, -1.0, 0.0],
                 [0.5, 0.0, -4.0, 3.0],
                 [0.0, 0.0, 0.0, 1.0]])


def replay(rng, n_images, h, w, ps):
    """The documented draw order, from an identically seeded Generator."""
    idx = rng.integers(n_images)
    x = rng.integers(h - ps)
    y = rng.integers(w - ps)
    lr = rng.random() < 0.5
    ud = rng.random() < 0.5
    return idx, x, y, lr, ud


def test_rate_scaling_hand_computed():
    # Image 1 is image 0 / 8: rates are normalised per image, so both give the same rates.
    stack = np.stack([IMG0, IMG0 / 8], axis=-1)
    sampler = PatchSampler(stack, patch_size=2, max_rate=100.0, flip_probability=0.5, rng=np.random.default_rng(5))
    ref = np.random.default_rng(5)
    # Unflipped rates (ON, OFF) by corner, computed by hand as |x| / 4 * 100.
    by_corner = {
        (0, 0): ([[25, 0], [0, 50]], [[0, 50], [0, 0]]),
        (0, 1): ([[0, 0], [50, 0]], [[50, 0], [0, 25]]),
        (1, 0): ([[0, 50], [12.5, 0]], [[0, 0], [0, 0]]),
        (1, 1): ([[50, 0], [0, 0]], [[0, 25], [0, 100]]),
    }
    seen = set()
    for _ in range(300):
        patch = sampler.sample()
        idx, x, y, lr, ud = replay(ref, 2, 4, 4, 2)
        on, off = (np.array(a, dtype=float) for a in by_corner[(x, y)])
        expected = np.stack([on, off], axis=-1)
        if lr:
            expected = expected[:, [1, 0]]
        if ud:
            expected = expected[[1, 0]]
        np.testing.assert_array_equal(patch, expected)
        assert (patch.max() == 100.0) == ((x, y) == (1, 1))
        seen.add((int(idx), int(x), int(y)))
    assert len(seen) == 8                     # every image and corner was drawn


def test_flips_and_corners_reproduce_by_hand():
    data_rng = np.random.default_rng(0)
    stack = data_rng.standard_normal((30, 40, 3))
    sampler = PatchSampler(stack, patch_size=PS, max_rate=100.0, flip_probability=0.5, rng=np.random.default_rng(123))
    ref = np.random.default_rng(123)
    for _ in range(50):
        patch = sampler.sample()
        idx, x, y, lr, ud = replay(ref, 3, 30, 40, 18)
        img = stack[:, :, idx]
        m = np.abs(img).max()                 # max of ON/OFF over both channels = max |x|
        expected = np.empty((18, 18, 2))
        for i in range(18):
            for j in range(18):
                v = img[x + (17 - i if ud else i), y + (17 - j if lr else j)]
                expected[i, j, 0] = max(v, 0.0) / m * 100.0
                expected[i, j, 1] = max(-v, 0.0) / m * 100.0
        np.testing.assert_array_equal(patch, expected)


def test_flip_frequencies_and_corner_range():
    # Positive ramp 1000*row + col + 1: orientation and corner are readable from the patch.
    rows, cols = np.mgrid[0:20, 0:21]
    stack = (1000.0 * rows + cols + 1)[:, :, None]
    sampler = PatchSampler(stack, patch_size=PS, max_rate=stack.max(), flip_probability=0.5, rng=np.random.default_rng(7))
    patches = sampler.sample_many(2000)[..., 0]          # ON channel, in units of the ramp
    assert patches.shape == (2000, 18, 18)
    lr = patches[:, 0, 0] > patches[:, 0, 1]
    ud = patches[:, 0, 0] > patches[:, 1, 0]
    # Binomial(2000, 0.5): sd 22.4, bounds at about 5 sd; joint (p = 0.25): sd 19.4.
    assert 888 <= lr.sum() <= 1112
    assert 888 <= ud.sum() <= 1112
    assert 400 <= (lr & ud).sum() <= 600
    corner = patches.min(axis=(1, 2)) - 1               # 1000 * x + y
    xs, ys = corner // 1000, corner % 1000
    assert set(xs.astype(int)) == {0, 1}                # [0, 20 - 18)
    assert set(ys.astype(int)) == {0, 1, 2}             # [0, 21 - 18)


def test_rng_state_resumes():
    stack = np.random.default_rng(1).standard_normal((25, 25, 2))
    a = PatchSampler(stack, patch_size=PS, max_rate=100.0, flip_probability=0.5, rng=np.random.default_rng(9))
    a.sample_many(3)
    state = a.rng.bit_generator.state
    b = PatchSampler(stack, patch_size=PS, max_rate=100.0, flip_probability=0.5, rng=np.random.default_rng(0))
    b.rng.bit_generator.state = state
    np.testing.assert_array_equal(a.sample_many(4), b.sample_many(4))


# --- rank order ------------------------------------------------------------------------

def test_rank_order():
    r, c, ch = np.mgrid[0:18, 0:18, 0:2]
    arr = 1000 * r + 10 * c + ch
    flat = rates_to_ranks(arr)
    assert flat.shape == (648,)
    for k in range(648):
        assert flat[k] == 1000 * (k // 36) + 10 * ((k // 2) % 18) + k % 2
    np.testing.assert_array_equal(weights_to_onoff(flat, 18), arr)
    back = weights_to_onoff(np.arange(648), 18)
    assert back[3, 5, 1] == 3 * 36 + 5 * 2 + 1


# --- whitening ---------------------------------------------------------------------------

def radial_slope(image, lo=0.05, hi=0.25):
    """Log-log slope of the radially averaged amplitude spectrum over [lo, hi] cycles/pixel."""
    n = image.shape[0]
    f = np.fft.fftfreq(n)
    radius = np.rint(np.hypot(f[:, None], f[None, :]) * n).astype(int)
    amp = np.abs(np.fft.fft2(image))
    mean = np.bincount(radius.ravel(), amp.ravel()) / np.bincount(radius.ravel())
    r = np.arange(int(np.ceil(lo * n)), int(hi * n) + 1)
    return np.polyfit(np.log(r / n), np.log(mean[r]), 1)[0]


def test_whitening_flattens_one_over_f_spectrum():
    n = 256
    rng = np.random.default_rng(3)
    f = np.fft.fftfreq(n)
    rho = np.hypot(f[:, None], f[None, :])
    spectrum = np.fft.fft2(rng.standard_normal((n, n)))
    spectrum[rho > 0] /= rho[rho > 0]
    spectrum[0, 0] = 0
    pink = np.real(np.fft.ifft2(spectrum))
    assert radial_slope(pink) < -0.8
    white = whiten(pink, WHITE)
    assert white.shape == (n, n)
    assert abs(radial_slope(white)) < 0.15
    assert white.var() == pytest.approx(0.1)
    assert abs(white.mean()) < 1e-12


def test_whiten_crops_to_centre_square():
    img = np.random.default_rng(0).standard_normal((40, 60))
    np.testing.assert_allclose(whiten(img, WHITE), whiten(img[:, 10:50], WHITE))


# --- load_images errors ------------------------------------------------------------------

def _savemat(path, **variables):
    scipy.io.savemat(path, variables)
    return path


def _truncated(tmp_path):
    path = _savemat(tmp_path / "trunc.mat", IMAGES=np.ones((20, 20, 2)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


BAD_FILES = {
    "missing": (lambda t: t / "absent.mat", "file not found"),
    "garbage": (lambda t: (t / "garbage.mat").write_bytes(b"not a MATLAB file " * 20)
                and t / "garbage.mat", "not a readable MATLAB file"),
    "truncated": (_truncated, "not a readable MATLAB file"),
    "wrong_name": (lambda t: _savemat(t / "wrong.mat", foo=np.ones((20, 20, 2))),
                   "variable 'IMAGES' not found (variables: foo)"),
    "two_d": (lambda t: _savemat(t / "flat.mat", IMAGES=np.ones((20, 20))),
              "expected a 3-D array"),
    "nan": (lambda t: _savemat(t / "nan.mat", IMAGES=np.where(np.eye(20)[:, :, None], np.nan,
                                                              1.0)), "non-finite"),
    "inf": (lambda t: _savemat(t / "inf.mat", IMAGES=np.full((20, 20, 1), np.inf)),
            "non-finite"),
    "small": (lambda t: _savemat(t / "small.mat", IMAGES=np.ones((10, 10, 2))),
              "smaller than the patch"),
    "npy_2d": (lambda t: np.save(t / "flat.npy", np.ones((20, 20))) or t / "flat.npy",
               "expected a 3-D array"),
    "npy_garbage": (lambda t: (t / "bad.npy").write_bytes(b"\x93NUMPY garbage")
                    and t / "bad.npy", "not a readable .npy file"),
    "all_zero_image": (lambda t: _savemat(t / "zero.mat", IMAGES=np.dstack([np.ones((20, 20)) * [[1, -1] * 10],
                                                                          np.zeros((20, 20))])),
                       "image 1 of 2 (0-based) is all zeros"),
    "complex": (lambda t: _savemat(t / "complex.mat", IMAGES=np.ones((20, 20, 2)) * (1 + 1j)), "complex values"),
    "logical": (lambda t: np.save(t / "logical.npy", np.ones((20, 20, 2), bool)) or t / "logical.npy", "logical"),
    "cell": (lambda t: _savemat(t / "cell.mat", IMAGES=np.array([np.ones((20, 20)), np.ones((20, 20))],
                                                                  dtype=object)), "not a numeric array"),
    "struct": (lambda t: _savemat(t / "struct.mat", IMAGES={"a": np.ones((20, 20, 2))}), "not a numeric array"),
    "colour_stack": (lambda t: _savemat(t / "colour.mat", IMAGES=np.ones((20, 20, 3, 2))), "converted to grey"),
    "empty": (lambda t: np.save(t / "empty.npy", np.ones((20, 20, 0))) or t / "empty.npy", "no images"),
    "v73_no_variable": (lambda t: _save_v73(t / "v73_wrong.mat", PICTURES=np.ones((20, 20, 2))),
                        "variable 'IMAGES' not found (variables: PICTURES)"),
    "v73_struct": (lambda t: _save_v73(t / "v73_struct.mat", IMAGES={"a": np.ones((20, 20, 2))}),
                   "MATLAB struct or cell"),
    "v73_complex": (lambda t: _save_v73(t / "v73_complex.mat", IMAGES=np.ones((20, 20, 2)) * (1 - 2j)),
                    "complex values"),
}


def _save_v73(path, **variables):
    """A MATLAB v7.3 file as MATLAB writes it: a 512-byte MATLAB header in the HDF5 user block,
    each variable a dataset of the transposed (column-major) array with its MATLAB_class; a
    struct a group; complex numbers a compound of real and imag."""
    import h5py
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, value in variables.items():
            if isinstance(value, dict):
                group = f.create_group(name)
                group.attrs["MATLAB_class"] = np.bytes_("struct")
                for key, item in value.items():
                    group.create_dataset(key, data=np.asarray(item).T)
                continue
            value = np.asarray(value)
            if np.iscomplexobj(value):
                compound = np.empty(value.T.shape, dtype=[("real", "<f8"), ("imag", "<f8")])
                compound["real"], compound["imag"] = value.T.real, value.T.imag
                dataset = f.create_dataset(name, data=compound)
            else:
                dataset = f.create_dataset(name, data=value.T)
            dataset.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Nov 24 09:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as f:
        f.write(header.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02" + b"IM")
    return path


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_load_images_errors(tmp_path, case):
    make, phrase = BAD_FILES[case]
    path = make(tmp_path)
    with pytest.raises(InputDataError) as err:
        load_images(path, patch_size=PS)
    message = str(err.value)
    assert path.name in message and phrase in message
    assert "\n" not in message


def test_load_images_matlab_v73(tmp_path):
    """MATLAB v7.3 (HDF5): read with h5py, back in MATLAB's index order."""
    stack = np.random.default_rng(3).standard_normal((21, 23, 3))     # H != W != n: order matters
    path = _save_v73(tmp_path / "v73.mat", IMAGES=stack)
    assert path.read_bytes()[:10] == b"MATLAB 7.3"
    with pytest.raises(NotImplementedError):
        scipy.io.loadmat(path)                       # what scipy says about such a file
    np.testing.assert_array_equal(load_images(path, patch_size=PS), stack)


def test_image_warnings():
    rng = np.random.default_rng(4)
    whitened = rng.standard_normal((40, 40, 2)) * 0.3
    assert image_warnings(whitened, "w.mat") == []
    photo = rng.integers(0, 256, (40, 40, 2)).astype(float)
    (line,) = image_warnings(photo, "photo.mat")
    assert "photo.mat: image 0, 1 has no negative values" in line and "--images DIR" in line
    shifted = whitened + np.array([0.0, 1.0])        # image 1 not centred
    (line,) = image_warnings(shifted, "s.mat")
    assert "image 1 is not centred" in line
    loud = whitened * np.array([1.0, 100.0])          # image 1: variance ~900
    (line,) = image_warnings(loud, "l.mat")
    assert "image 1 has variance" in line and "0.014-0.20" in line


def test_resolve_reports_warnings(tmp_path):
    photo = np.random.default_rng(5).integers(0, 256, (40, 40, 2)).astype(float)
    logged = []
    source = resolve_images(_savemat(tmp_path / "photo.mat", IMAGES=photo), patch_size=PS, whitening=WHITE,
                            log=logged.append)
    assert len(logged) == 1 and "no negative values" in logged[0] and source.warning == logged[0]


def test_load_images_valid_mat_and_npy(tmp_path):
    stack = np.arange(20 * 19 * 2, dtype=float).reshape(20, 19, 2)
    np.testing.assert_array_equal(load_images(_savemat(tmp_path / "ok.mat", IMAGES=stack), patch_size=PS), stack)
    np.save(tmp_path / "ok.npy", stack.astype(np.float32))
    loaded = load_images(tmp_path / "ok.npy", patch_size=PS)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, stack)


# --- folders, download, resolution -------------------------------------------------------

@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # imageio probing a bad file
def test_whiten_folder(tmp_path, patch_size=PS):
    rng = np.random.default_rng(0)
    skimage.io.imsave(tmp_path / "a.png", rng.integers(0, 256, (40, 50), dtype=np.uint8))
    skimage.io.imsave(tmp_path / "b.png", rng.integers(0, 256, (60, 45, 3), dtype=np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    source = resolve_images(tmp_path, patch_size=PS, whitening=WHITE)
    assert source.origin == "folder" and source.images.shape == (40, 40, 2)
    (tmp_path / "c.jpg").write_bytes(b"not a picture")
    with pytest.raises(InputDataError, match="c.jpg: unreadable image"):
        whiten_folder(tmp_path, patch_size=PS, whitening=WHITE)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputDataError, match="no image files"):
        whiten_folder(empty, patch_size=PS, whitening=WHITE)


def test_download_from_file_url(tmp_path):
    src = _savemat(tmp_path / "src.mat", IMAGES=np.ones((20, 20, 2)))
    dest = tmp_path / "out" / "IMAGES.mat"
    assert download_images(dest, url=src.as_uri(), patch_size=PS) == dest
    assert load_images(dest, patch_size=PS).shape == (20, 20, 2)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["IMAGES.mat"]

    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"garbage" * 50)
    dest2 = tmp_path / "out2" / "IMAGES.mat"
    with pytest.raises(InputDataError, match="downloaded file is invalid"):
        download_images(dest2, url=bad.as_uri(), patch_size=PS)
    assert list(dest2.parent.iterdir()) == []        # no partial file left
    with pytest.raises(InputDataError, match="download failed"):
        download_images(dest2, url="http://127.0.0.1:9/IMAGES.mat", timeout=2, patch_size=PS)
    assert list(dest2.parent.iterdir()) == []


@pytest.mark.parametrize("download", [False, True])
def test_resolve_falls_back_to_stand_in(tmp_path, monkeypatch, download):
    def offline(dest, *args, **kwargs):
        raise InputDataError("https://example.invalid/IMAGES.mat", "download failed (offline)")

    monkeypatch.setattr(images_mod, "download_images", offline)
    monkeypatch.setattr(images_mod, "SHARED_IMAGES", tmp_path / "no_shared" / "IMAGES.mat")
    logged = []
    source = resolve_images(input_dir=tmp_path, patch_size=PS, whitening=WHITE, download=download, log=logged.append)
    assert source.origin == "stand-in" and source.path is None
    assert source.warning and "WARNING" in source.warning and source.warning.count("\n") >= 3
    assert logged == [source.warning]
    assert ("download failed" in source.warning) == download
    assert source.images.ndim == 3 and np.isfinite(source.images).all()
    images = np.ascontiguousarray(source.images)
    assert source.sha256 == hashlib.sha256(b"float64" + str(images.shape).encode() + images.tobytes()).hexdigest()


def test_resolve_prefers_local_file(tmp_path, monkeypatch):
    monkeypatch.setattr(images_mod, "download_images", None)   # must not be called
    stack = np.random.default_rng(6).standard_normal((20, 20, 2))     # whitened-like: no warning
    _savemat(tmp_path / "IMAGES.mat", IMAGES=stack)
    source = resolve_images(input_dir=tmp_path, patch_size=PS, whitening=WHITE)
    assert source.origin == "file" and source.warning is None
    assert source.path == str(tmp_path / "IMAGES.mat")
    with pytest.raises(InputDataError, match="no such file or folder"):
        resolve_images(tmp_path / "nowhere", patch_size=PS, whitening=WHITE)


# --- the real training set ---------------------------------------------------------------

@pytest.mark.skipif(REAL_IMAGES is None, reason="IMAGES.mat not present (input/ or ../shared/data/)")
def test_real_images():
    assert hashlib.sha256(REAL_IMAGES.read_bytes()).hexdigest() == SHARED_SHA256
    stack = load_images(REAL_IMAGES, patch_size=PS)
    assert stack.shape == (512, 512, 10) and np.isfinite(stack).all()
