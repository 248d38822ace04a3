"""The training schedule (models/schedule.py) against docs/model.md §4 and the published script."""
import numpy as np

from models.schedule import Schedule, balance_on_off


def test_balance_follows_patches_0_160_320():
    # Published: present patch p, then balance when p * 125 ms is a multiple of 20 s.
    schedule = Schedule(n_patches=1000, save_every=50, normalize_every=160)
    published = [p + 1 for p in range(1000) if (p * 125) % 20000 == 0]
    assert published == [1, 161, 321, 481, 641, 801, 961]
    assert [q for q in range(1001) if schedule.balances_before(q)] == published
    assert not any(Schedule(1000, 50, None).balances_before(q) for q in range(1001))


def test_snapshot_steps():
    assert Schedule.for_run(400_000, None, 160).snapshot_steps() == list(range(0, 400_001, 20_000))
    assert Schedule(25, 10, None).snapshot_steps() == [0, 10, 20, 25]


def test_balance_on_off_by_hand():
    # one row, 2x2 pixels: ON columns 0, 2, 4, 6; OFF columns 1, 3, 5, 7
    w = np.array([[3.0, 1.0, 4.0, 1.0, 0.0, 1.0, 0.0, 1.0],     # |ON| = 5, |OFF| = 2: ON scaled by 0.4
                  [0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])    # no ON weight: unchanged
    out = balance_on_off(w, patch_size=2)
    np.testing.assert_allclose(out[0], [1.2, 1.0, 1.6, 1.0, 0.0, 1.0, 0.0, 1.0], rtol=1e-15)
    np.testing.assert_array_equal(out[1], w[1])


def test_thread_policy():
    from training.cli import thread_policy
    assert thread_policy("fast", 1, False, cores=8) == (1, None)
    threads, note = thread_policy("fast", 4, False, cores=8)
    assert threads == 1 and "one thread" in note and "--force-threads" in note
    assert thread_policy("fast", 4, True, cores=2) == (4, None)
    assert thread_policy("literal", 2, False, cores=8) == (2, None)
    threads, note = thread_policy("literal", 8, False, cores=2)
    assert threads == 2 and "2 cores" in note
    threads, note = thread_policy("literal", 2, False, cores=8, varying_delays=True)
    assert threads == 1 and "one thread" in note
    assert thread_policy("literal", 2, True, cores=8, varying_delays=True) == (2, None)


def test_only_layer23_has_varying_delays():
    from models.layers import layer4, layer23
    assert layer23().has_varying_delays and not layer4().has_varying_delays


# --- the early-failure check (training.health) ------------------------------------------------------
def _health(lost_cells, i_rate=8.5):
    from models.parameters import PUBLISHED
    from training.health import check
    weights = np.full((324, 648), 1.0)
    weights[lost_cells:, 0] = 5.0                        # cells from lost_cells on have a weight at wMax
    rates = np.full((20, 81), i_rate)                    # windows of 100 patches up to patch 2,000
    return check(PUBLISHED, weights, 5.0, rates, 100, 2000, seed=7)


def test_health_check_says_one_line_for_a_healthy_run():
    report = _health(0)
    assert report.status == "healthy" and report.warning is None
    assert report.summary() == ("health check at patch 2,000: healthy, all 324 E cells have a field "
                                "(an LGN weight ≥ 2.5), I cells 8.5 Hz")


def test_health_check_line_of_a_failing_run_counts_the_cells_without_field():
    report = _health(100, i_rate=0.06)
    assert report.status == "failing" and report.n_not_grown_E == 100
    assert report.summary() == ("health check at patch 2,000: failing, 100 of 324 E cells have no field "
                                "(an LGN weight ≥ 2.5), I cells 0.1 Hz")
