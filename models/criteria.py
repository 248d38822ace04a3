"""The model's definitions of what a trained cell is: one definition of each, used everywhere.

* ``has_field``: a cell has a receptive field when its largest feed-forward weight is at
  least health.field_fraction of the projection's wMax (docs/model.md §4). The early-failure
  check of a layer-4 run (``training.health``), the analysis (``analysis.analyze``,
  ``analysis.series``) and the seed study count cells with it.
* ``responsive``: a cell responds to a stimulus set when its best mean rate is at least
  analysis.responsive_hz of model time (docs/model.md §7), whatever the presentation time.
"""
from __future__ import annotations

import numpy as np

from models.parameters import Model


def has_field(model: Model, weights: np.ndarray, w_max: float) -> np.ndarray:
    """Per row (postsynaptic cell) of *weights*: is its largest weight >= field_fraction * w_max?"""
    return np.asarray(weights).max(axis=1) >= model.health.field_fraction * w_max


def responsive(model: Model, best_rate_hz: np.ndarray) -> np.ndarray:
    """Per cell: is its best mean rate (Hz of model time) at least analysis.responsive_hz?"""
    return np.asarray(best_rate_hz) >= model.analysis.responsive_hz
