"""Model numbers that must not depend on how a run is cut up, and definitions that exist once.

* the ON/OFF balance interval is model time (docs/model.md §4: 20 s), not a patch count;
* the early-failure check runs at its patch whatever the rate window and block size;
* a cell "has a field" by one definition (largest LGN weight >= wMax/2) in the health check,
  the analysis and the development series;
* a cell is "responsive" above a rate in Hz of model time (docs/model.md §7), whatever the
  presentation time;
* the whitening numbers come from the model, not from input/ or evaluation/.
"""
import numpy as np
import pytest

from models import criteria
from models.layers import layer4
from models.parameters import PUBLISHED
from models.schedule import Schedule


# --- normalisation interval ---------------------------------------------------------------------

def test_normalisation_interval_is_model_time():
    assert PUBLISHED.training.normalize_ms == 20_000.0
    assert layer4().normalize_every == 160                                       # of 125 ms
    assert layer4(PUBLISHED.with_overrides({"input.presentation_ms": 200.0})).normalize_every == 100
    with pytest.raises(ValueError, match="not a whole number of 150-ms presentations"):
        PUBLISHED.with_overrides({"input.presentation_ms": 150.0})


# --- the health check at its patch ----------------------------------------------------------------

class _Window:
    """Stands in for the trainer's rate recorder: windows of *size* patches."""

    def __init__(self, size):
        self.size, self.patch = size, 0

    def patches_left_in_window(self):
        return self.size - self.patch % self.size


@pytest.mark.parametrize("rate_window", [100, 150, 7])
@pytest.mark.parametrize("block", [20, 33])
def test_a_block_ends_at_the_health_check(rate_window, block):
    from training.trainer import Trainer
    trainer = Trainer.__new__(Trainer)               # the block logic alone, no network
    trainer.model = PUBLISHED
    trainer.schedule = Schedule(n_patches=3000, save_every=2500, normalize_every=PUBLISHED.normalize_every)
    trainer.rates = _Window(rate_window)
    trainer.checks_health = True
    trainer.BLOCK_PATCHES = block
    trainer.patch, ends = 0, []
    snapshots = set(trainer.schedule.snapshot_steps())
    while trainer.patch < 3000:
        trainer.patch = trainer.rates.patch = trainer._block_end(snapshots)
        ends.append(trainer.patch)
    assert PUBLISHED.health.check_patch == 2000
    assert 2000 in ends


# --- one definition of a field -------------------------------------------------------------------

def test_has_field_is_one_definition(tmp_path):
    from analysis import series
    from training import health
    LAYER4 = layer4()
    w_max = LAYER4.spec("LGN_E").rule.wMax                     # 5
    w = np.full((4, 648), 0.1)
    w[0, 3], w[1, 3], w[2, 3] = 2.5, 2.5 + 1e-9, 2.5 - 1e-9    # at, above and below wMax/2
    expected = [True, True, False, False]
    assert criteria.has_field(PUBLISHED, w, w_max).tolist() == expected
    report = health.check(PUBLISHED, w, w_max, np.zeros((20, 81)), 100, 2000, seed=0)
    assert report.n_not_grown_E == 2 and report.w_half == 2.5
    shapes = LAYER4.snapshot_shapes()
    full = np.full(shapes["excitatory/V1weight"], 0.1)
    full[:4] = w
    path = LAYER4.snapshot_path(tmp_path, "LGN_E", 0)
    path.parent.mkdir(parents=True)
    np.savetxt(path, full, fmt="%.17g")
    assert series.has_field(tmp_path, 0, "E")[:4].tolist() == expected


# --- responsive in Hz ----------------------------------------------------------------------------

def test_responsive_is_a_rate():
    from analysis.analyze import tuning_analysis
    orientations, frequencies, phases, contrasts = np.arange(0, 180, 45.0), [0.1], [0.0], [1.0]
    grid = np.array([[o, 0, 0, 0] for o in range(4)])
    counts = np.array([[1, 0], [3, 2], [1, 1], [0, 0]], dtype=float)    # peaks: 3 and 2 spikes
    at_125 = tuning_analysis(PUBLISHED, counts, grid, orientations, frequencies, phases, contrasts, 0.125)
    at_200 = tuning_analysis(PUBLISHED, counts, grid, orientations, frequencies, phases, contrasts, 0.200)
    assert at_125["responsive"][0].tolist() == [True, True]      # 24 Hz and 16 Hz
    assert at_200["responsive"][0].tolist() == [False, False]    # 15 Hz and 10 Hz
    assert PUBLISHED.analysis.responsive_hz == 16.0


# --- whitening numbers --------------------------------------------------------------------------

def test_whitening_numbers_come_from_the_model():
    import input.images as images
    from evaluation.protocol import Protocol
    assert PUBLISHED.input.whitening == images.Whitening(f0_fraction=0.4, variance=0.1)
    assert (Protocol().f0_fraction, Protocol().variance) == (0.4, 0.1)
    assert not hasattr(images, "F0_FRACTION") and not hasattr(images, "WHITENED_VARIANCE")
    white = images.whiten(np.random.default_rng(0).standard_normal((32, 32)),
                          images.Whitening(f0_fraction=0.4, variance=0.5))
    assert white.var() == pytest.approx(0.5)
