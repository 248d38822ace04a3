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
