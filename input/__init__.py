"""Input stage of the V1 model (docs/model.md §1): whitened natural images
(Olshausen & Field 1996) -> ON/OFF patches -> Poisson rates of the input population."""
from input.images import (DEFAULT_URL, ImageSource, InputDataError, download_images,
                          load_images, resolve_images, stand_in_images, whiten, whiten_folder)
from input.patches import PatchSampler, on_off_split, rates_to_ranks, weights_to_onoff

__all__ = ["DEFAULT_URL", "ImageSource", "InputDataError", "PatchSampler", "download_images",
           "load_images", "on_off_split", "rates_to_ranks", "resolve_images", "stand_in_images",
           "weights_to_onoff", "whiten", "whiten_folder"]
