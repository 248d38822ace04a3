"""The published evaluation protocol (docs/model.md §8): images -> whitened crops -> Poisson rates.

1. Grey (luminance 0.299 R + 0.587 G + 0.114 B for colour sets), divided by 255.
2. Every image whitened with the Olshausen & Field filter ``f exp(-(f/f0)^4)``,
   f0 = 0.4 x image size (``input.images.whitening_filter``, the filter of the input stage),
   then the whole split scaled so that its variance is 0.1 (training and test split each
   on its own); both numbers are the model's whitening (``Model.input``).
   ETH-80: every object's views scaled together (``whiten_groups``).
3. The four corner crops of patch_size x patch_size (28 x 28: offsets 0 and 10; 32 x 32:
   offsets 0 and 14); images larger than 32 px (resized to 126 x 126 by the loader) a grid of
   crops with stride ``Protocol.stride`` (126 x 126: 7 x 7 = 49 crops, the published ETH-80
   protocol); each crop split into ON = max(x, 0) and OFF = max(-x, 0), with Poisson rates
   crop / max(|whitened image|) x max_rate.
4. Each crop shown ``repeats`` times for the presentation time, the network put back to its initial
   state before every presentation (``evaluation.simulate``); features are mean rates.

``Protocol`` holds these settings, so that every departure is an option and is recorded;
``Protocol.for_model(model)`` takes the model's numbers (presentation time, rates, whitening,
patch size) from the evaluated run's model.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from input.images import whiten_unscaled
from models.parameters import PUBLISHED, Model

LUMINANCE = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Protocol:
    repeats: int = 10                    # presentations of every crop
    presentation_ms: float = PUBLISHED.input.presentation_ms
    max_rate_hz: float = PUBLISHED.input.max_rate         # rate of the largest |whitened value| of an image
    variance: float = PUBLISHED.input.whitening_variance  # variance of each whitened split
    f0_fraction: float = PUBLISHED.input.whitening_f0     # whitening cutoff, fraction of the image size
    crop: int = PUBLISHED.input.patch_size
    stride: int | None = None            # None: the four corner crops; else a grid of crops with this stride
    reset: bool = True                   # network state back to its initial values before each presentation
    delays: bool = True                  # layer 2/3 with its recorded delays (the published evaluation: none)
    C: float = 1.0                       # LinearSVC regularisation
    centre: bool = False                 # features: the global mean subtracted after dividing by the maximum
    max_over: str = "split"              # features divided by the maximum of each split, or of "all" images
    solver: str = "LinearSVC(dual=False)"  # the same objective as the dual solver, solved in its primal form

    @classmethod
    def for_model(cls, model: Model, **options) -> "Protocol":
        """The protocol with the numbers of *model* (the run's), and *options* for the rest."""
        i = model.input
        return cls(presentation_ms=i.presentation_ms, max_rate_hz=i.max_rate, variance=i.whitening_variance,
                   f0_fraction=i.whitening_f0, crop=i.patch_size, **options)

    def record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Readout:
    """How the published code read out one data set: LinearSVC's C, the normalisation of the
    feature matrices, and the first images of each split it used (None: all)."""
    C: float = 1.0
    centre: bool = False
    max_over: str = "split"
    first_train: int | None = None
    first_test: int | None = None


# The published read-out per data set (docs/model.md §8). Digits, Fashion-MNIST and image folders
# were not published: digits and folders as EMNIST/SVHN/ETH-80 (maximum only), Fashion-MNIST,
# a drop-in for MNIST, as MNIST.
READOUTS = {
    "digits": Readout(),
    "mnist": Readout(centre=True),
    "fashion-mnist": Readout(centre=True),
    "emnist-balanced": Readout(),
    "cifar10": Readout(centre=True),
    "svhn": Readout(C=10.0, first_train=40_000, first_test=10_000),
    "eth80": Readout(C=0.1),
    "caltech-fm": Readout(max_over="all"),     # one maximum over all images, before the splits
    "folder": Readout(),
}


def to_grey(images: np.ndarray) -> np.ndarray:
    """(n, H, W) or (n, H, W, 3) images in 0-255 -> (n, H, W) float64 in 0-1."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        if images.shape[-1] != 3:
            raise ValueError(f"colour images need 3 channels, got shape {images.shape}")
        images = images @ np.array(LUMINANCE)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"expected square images (n, H, W), got shape {images.shape}")
    return images / 255.0


def whiten_split(grey: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Every image whitened, then the split scaled to variance ``protocol.variance``."""
    white = whiten_unscaled(grey, protocol.f0_fraction)
    var = white.var()
    if not var > 0:
        raise ValueError("the split has no contrast left after whitening")
    return white * np.sqrt(protocol.variance / var)


def whiten_groups(grey: np.ndarray, groups: np.ndarray, protocol: Protocol) -> np.ndarray:
    """Every image whitened, then the images of each group (an object's views) scaled together
    to variance ``protocol.variance``."""
    white = np.empty_like(grey, dtype=np.float64)
    for g in np.unique(groups):
        white[groups == g] = whiten_split(grey[groups == g], protocol)
    return white


def crop_offsets(size: int, crop: int, stride: int | None = None) -> list[tuple[int, int]]:
    """Top-left corners of the crops of a size x size image: the four corners (stride None),
    or a grid row by row with the given stride."""
    if size < crop:
        raise ValueError(f"images of {size} pixels are smaller than the {crop}-pixel crop")
    if stride is None:
        far = size - crop
        return [(0, 0), (0, far), (far, 0), (far, far)]
    starts = range(0, size - crop + 1, stride)
    return [(r, c) for r in starts for c in starts]


def crops(white: np.ndarray, crop: int, stride: int | None = None) -> np.ndarray:
    """(n, S, S) whitened images -> (n, n_crops, crop, crop) crops (see ``crop_offsets``)."""
    offsets = crop_offsets(white.shape[1], crop, stride)
    return np.stack([white[:, r:r + crop, c:c + crop] for r, c in offsets], axis=1)


def crop_rates(white: np.ndarray, protocol: Protocol) -> np.ndarray:
    """(n, S, S) whitened images -> (n, n_crops, crop, crop, 2) ON/OFF Poisson rates in Hz:
    every crop divided by the largest |value| of its whole image, times the maximal rate."""
    peak = np.abs(white).max(axis=(1, 2))
    scale = np.divide(protocol.max_rate_hz, peak, out=np.zeros_like(peak), where=peak > 0)
    c = crops(white, protocol.crop, protocol.stride) * scale[:, None, None, None]
    return np.stack([np.maximum(c, 0.0), np.maximum(-c, 0.0)], axis=-1)


def presentation_seed(seed: int, split: int, image: int, crop: int, repeat: int) -> int:
    """The Poisson seed of one presentation: a function of what is shown, never of who shows it."""
    return int(np.random.SeedSequence([seed, split, image, crop, repeat]).generate_state(1)[0])
