"""Queued patch rates (simulator/poisson_input.py) give the spikes of patches shown one by one.

The training loop hands blocks of patches to the kernel in one ``simulate`` call
and the Poisson population switches the rates itself at the first step of each
patch. Checked here with 1 and 2 threads (two code paths):

* exact: with rates of 0 or 1000 Hz (dt = 1 ms: p = U * 1000 < 1000 always holds,
  p < 0 never), cell k fires on every step of patch k and on no other step;
* against the per-patch loop: random rates, the same seed, the same spike
  times, after ``net.reset()`` reseeds ANNarchy's generators;
* subnormal numbers are flushed to zero in the kernel, and the caller's
  floating-point mode is back after ``flush_subnormals`` (x86 only).
"""
import platform

import numpy as np
import pytest

import ANNarchy as ann

from simulator.network import compile_network
from simulator.poisson_input import PatchPoissonPopulation

GEOMETRY = (2, 2, 2)
SIZE = 8
STEPS = 7              # steps per patch (dt = 1 ms)


@pytest.fixture(scope="module", params=[1, 2], ids=["1thread", "2threads"])
def net(request, tmp_path_factory):
    net = ann.Network(dt=1.0, seed=7)
    net.config(num_threads=request.param)
    pop = net.create(PatchPoissonPopulation(geometry=GEOMETRY))
    # Halves every step from 1: normal down to 2^-1022, subnormal from step 1023 on.
    decay = net.create(geometry=4, neuron=ann.Neuron(equations="dx/dt = -x/2.0 : init=1.0", spike="x > 2.0"))
    mon = net.monitor(pop, ["spike"])
    compile_network(net, tmp_path_factory.mktemp(f"poisson_j{request.param}"))
    return net, pop, mon, decay


def _spike_steps(mon) -> dict:
    """rank -> steps of its spikes since the last call, for the ranks that fired."""
    return {rank: sorted(int(round(t)) for t in times) for rank, times in mon.get("spike").items() if len(times)}


def test_each_patch_starts_on_its_own_step(net):
    net, pop, mon, _ = net
    net.reset()
    n_patches = SIZE
    rates = np.zeros((n_patches,) + GEOMETRY)
    rates.reshape(n_patches, SIZE)[np.arange(n_patches), np.arange(n_patches)] = 1000.0  # patch k: cell k
    pop.queue(rates, STEPS)
    net.simulate(n_patches * STEPS)
    assert pop.queued_patches_left() == 0
    spikes = _spike_steps(mon)
    for k in range(SIZE):
        assert spikes.get(k, []) == list(range(k * STEPS, (k + 1) * STEPS)), f"cell {k}"
    # After the queue the last patch's rates stay, as after setting them from Python.
    net.simulate(3)
    assert _spike_steps(mon) == {SIZE - 1: [n_patches * STEPS + s for s in range(3)]}


def test_queue_gives_the_spikes_of_the_per_patch_loop(net):
    net, pop, mon, _ = net
    rates = np.random.default_rng(3).uniform(0.0, 400.0, size=(6,) + GEOMETRY)

    net.reset()
    for patch in rates:
        pop.rates = patch
        net.simulate(STEPS)
    one_by_one = _spike_steps(mon)

    net.reset()
    pop.queue(rates, STEPS)
    net.simulate(len(rates) * STEPS)
    queued = _spike_steps(mon)

    assert sum(len(v) for v in one_by_one.values()) > 50      # the comparison has spikes to compare
    assert queued == one_by_one


def test_patches_left_counts_down(net):
    net, pop, mon, _ = net
    net.reset()
    pop.queue(np.full((2,) + GEOMETRY, 1000.0), STEPS)
    net.simulate(STEPS)                                       # one of the two patches shown
    assert pop.queued_patches_left() == 1
    net.simulate(STEPS)
    assert pop.queued_patches_left() == 0


def _numpy_uniforms(seed: int, n: int) -> np.ndarray:
    """n draws of std::uniform_real_distribution<double>(0, 1) on std::mt19937(seed), from numpy's
    MT19937 (RandomState seeds it as std::mt19937 does; its full-range integers are the raw
    outputs) and libstdc++'s generate_canonical: (a + b 2^32) / 2^64 for consecutive outputs."""
    raw = np.random.RandomState(seed).randint(0, 2**32, size=2 * n, dtype=np.uint32).astype(np.float64)
    u = (raw[0::2] + raw[1::2] * 2.0**32) / 2.0**64
    return np.where(u >= 1.0, np.nextafter(1.0, 0.0), u)


def test_seeded_presentations_draw_the_mt19937_stream(net, request):
    """queue_presentations seeds the generator at the first step of each presentation; on one
    thread the kernel draws the numbers from its block generator: the spikes of numpy's
    MT19937 stream, cell by cell and step by step (a spike when 1000 u / dt < rate)."""
    net, pop, mon, _ = net
    if "2threads" in request.node.name:
        pytest.skip("on two threads each thread draws from its own generator (checked against the loop below)")
    rng = np.random.default_rng(5)
    rates = rng.uniform(0.0, 1000.0, size=(4,) + GEOMETRY)
    seeds = [0, 4294967295, 12345, 12345]
    net.reset()
    mon.get("spike")
    start = net.current_step
    pop.queue_presentations(rates, seeds, STEPS, restore=False)
    net.simulate(len(seeds) * STEPS)
    expected = {}
    for k, (r, seed) in enumerate(zip(rates, seeds)):
        u = _numpy_uniforms(seed, STEPS * SIZE).reshape(STEPS, SIZE)
        for step, cell in zip(*np.nonzero(1000.0 * u / 1.0 < r.reshape(1, SIZE))):
            expected.setdefault(int(cell), []).append(start + k * STEPS + int(step))
    assert sum(len(v) for v in expected.values()) > 50
    assert _spike_steps(mon) == {c: sorted(v) for c, v in expected.items()}


def test_seeded_presentations_give_the_spikes_of_the_reseeded_loop(net):
    net, pop, mon, _ = net
    rates = np.random.default_rng(6).uniform(0.0, 400.0, size=(5,) + GEOMETRY)
    seeds = [7, 8, 9, 7, 2**31 + 5]
    net.reset()
    for r, seed in zip(rates, seeds):
        pop.cyInstance.reseed(seed)
        pop.rates = r
        net.simulate(STEPS)
    one_by_one = _spike_steps(mon)
    net.reset()
    pop.queue_presentations(rates, seeds, STEPS, restore=False)
    net.simulate(len(rates) * STEPS)
    assert pop.queued_patches_left() == 0
    assert sum(len(v) for v in one_by_one.values()) > 30
    assert _spike_steps(mon) == one_by_one


X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


@pytest.mark.skipif(not X86, reason="flush-to-zero is set on x86 processors only")
def test_subnormals_flushed_in_the_kernel_and_mode_restored(net):
    net, pop, mon, decay = net
    net.reset()
    # The tests above call net.simulate() directly, which leaves the kernel's mode in
    # this thread: start from the default mode (flush-to-zero and DAZ off).
    pop.cyInstance.fp_end(pop.cyInstance.fp_begin() & ~0x8040)
    tiny = np.float64(2.0) ** -1030                          # a subnormal number
    with pop.flush_subnormals():
        assert tiny * 1.0 == 0.0                              # this thread flushes too
        net.simulate(1022)                                    # x = 2^-1022, the smallest normal
        assert np.all(decay.x == 2.0 ** -1022)
        net.simulate(5)
        # Without the flush x would go on to 2^-1027, a subnormal; with it the step
        # -x/2 = -2^-1023 is flushed to zero and x stays the smallest normal number.
        assert np.all(decay.x == 2.0 ** -1022)
    assert tiny * 1.0 == tiny                                 # the caller's mode is back
    assert tiny * 1.0 > 0.0
