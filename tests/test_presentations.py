"""Independent presentations run by the kernel (``V1Network.present_from_initial``, the
evaluation's engine) against the per-presentation loop it replaces: from Python, before every
presentation, the network back to its initial state (``reset_to_initial``) or only the
generator reseeded (``reseed``), the rates set, one ``simulate``, spikes from ANNarchy's
monitors. Both must give the same spike counts, presentation by presentation and cell by
cell, on the frozen layers 4 + 2/3 with axonal delays (spikes in flight between
presentations) and weights that make every population fire."""
import numpy as np
import pytest

from models.layers import layer4, layer23
from models.parameters import PUBLISHED

LAYER4, LAYER23 = layer4(), layer23()

POPS = ("LGN", "E", "I", "E2", "I2")
N = 10                     # presentations


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    from simulator.network import build_network, draw_initial_state
    weights = {}
    for layer, seed in ((LAYER4, 3), (LAYER23, 4)):       # each layer's own plastic initial draws
        drawn, _ = draw_initial_state(PUBLISHED, layer.projections, seed)
        weights.update({name: w for name, w in drawn.items() if name not in weights and w.dtype != object})
    return build_network(LAYER23, build_dir=tmp_path_factory.mktemp("l23static"), static=True, seed=5,
                         weights=weights)


def _stimuli(seed):
    rng = np.random.default_rng(seed)
    ps = PUBLISHED.input.patch_size
    rates = rng.uniform(0.0, PUBLISHED.input.max_rate, size=(N, ps, ps, 2))
    rates[rng.uniform(size=rates.shape) < 0.5] = 0.0          # sparse, as whitened crops
    return rates, [int(s) for s in rng.integers(0, 2**32, size=N)]


def _per_presentation_loop(network, rates, seeds, restore):
    """The reference: one Python round trip per presentation, spikes from monitors."""
    monitors = {p: network.net.monitor(network.pops[p], ["spike"]) for p in POPS}
    start, steps = network.net.current_step, network.steps_per_patch
    for r, seed in zip(rates, seeds):
        if restore:
            network.reset_to_initial(seed)
        else:
            network.reseed(seed)
        network.present(r, steps * PUBLISHED.dt)
    counts = {}
    for p, mon in monitors.items():
        c = np.zeros((len(rates), network.pops[p].size), dtype=np.int64)
        for rank, times in mon.get("spike").items():
            for step in times:
                c[(int(step) - start) // steps, rank] += 1
        counts[p] = c
    return counts


@pytest.mark.parametrize("restore", [True, False], ids=["from-initial-state", "reseed-only"])
def test_kernel_presentations_give_the_spikes_of_the_python_loop(network, restore):
    assert type(network.projs["E_E2"]).__name__ == "FastDelayedStaticProjection"   # spikes in flight
    rates, seeds = _stimuli(11)
    network.reset_to_initial(1)
    reference = _per_presentation_loop(network, rates, seeds, restore)
    for _ in range(2):     # whatever ran before (the loop, or the last block), the same counts
        network.reset_to_initial(1)
        counts = network.present_from_initial(rates, seeds, restore=restore)
        for p in POPS:
            assert counts[p].shape == (N, network.pops[p].size)
            np.testing.assert_array_equal(counts[p], reference[p], err_msg=p)
    for p in POPS:          # every population fires, in every presentation for the input relay
        assert reference[p].sum() > 20 * N, p
    assert reference["LGN"].sum(axis=1).min() > 0


def test_presentations_depend_on_their_seed_and_rates_only(network):
    """From the initial state, a presentation's spikes do not depend on what came before it."""
    rates, seeds = _stimuli(12)
    whole = network.present_from_initial(rates, seeds)
    tail = network.present_from_initial(rates[4:], seeds[4:])
    for p in POPS:
        np.testing.assert_array_equal(whole[p][4:], tail[p], err_msg=p)
    other = network.present_from_initial(rates[4:], [s + 1 for s in seeds[4:]])
    assert not np.array_equal(other["E"], tail["E"])


def test_refuses_mismatched_seeds(network):
    rates, seeds = _stimuli(13)
    with pytest.raises(ValueError, match="seeds"):
        network.present_from_initial(rates, seeds[:-1])


def test_a_frozen_network_spikes_the_same_without_the_learning_variables(network, tmp_path):
    """The frozen network computes no learning variables (``V1Network``'s default when nothing
    learns); with them computed, every spike is the same."""
    from simulator.network import build_network
    assert "vmean" not in network.pops["E"].attributes and "xtrace" not in network.pops["LGN"].attributes
    weights = {name: network.weights(name) for name in network.projs}
    full = build_network(LAYER23, build_dir=tmp_path / "with-learning-variables", static=True, seed=5,
                         weights=weights, learning_variables=True)
    assert "vmean" in full.pops["E"].attributes and "xtrace" in full.pops["LGN"].attributes
    rates, seeds = _stimuli(14)
    for restore in (True, False):
        counts, reference = (net.present_from_initial(rates, seeds, restore=restore) for net in (network, full))
        for p in POPS:
            np.testing.assert_array_equal(counts[p], reference[p], err_msg=p)
