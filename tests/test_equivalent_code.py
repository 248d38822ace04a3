"""Code that does less work than ANNarchy's own and must compute the same: the input relay's
transmission (``simulator.relay.RelayProjection``) against ANNarchy's one-to-one projection,
the spike conditions evaluated before the spike gathering
(``simulator.populations.hoist_spike_condition``; whole populations: tests/test_neuron.py),
and the learning variables left out of a network that does not learn
(``models.neurons.without_learning_variables``; whole networks: tests/test_presentations.py).

The relay: the same presynaptic spike trains (a SpikeSourceArray, cells firing at steps of
their own, some on consecutive steps, some silent) drive two LGN relay populations, one
through ``RelayProjection`` and one through ANNarchy's ``one_to_one``, on one and on two
threads. Their ``g_exc`` must be equal at every step and every cell, and every relay spike
one step after its input spike (docs/model.md §1).
"""
import numpy as np
import pytest

from models.neurons import LEARNING_VARIABLES, NeuronModel, adex, lgn_relay, without_learning_variables
from models.parameters import PUBLISHED

N, T = 12, 40                                  # cells, steps
# cell k fires at the steps of its own pattern: every k+1 steps from step k, cell 0 every step
SPIKES = [[float(s) for s in range(k, T - 5, k + 1)] for k in range(N - 2)] + [[], [3.0, 4.0, 5.0]]


def _relay_pair(build_dir, threads):
    import ANNarchy as ann
    from simulator.network import compile_network
    from simulator.relay import RelayProjection
    net = ann.Network(dt=PUBLISHED.dt, seed=1)
    net.config(num_threads=threads)
    src = net.create(ann.SpikeSourceArray(spike_times=SPIKES))
    neuron = lgn_relay(PUBLISHED).annarchy()
    relayed, reference = net.create(geometry=N, neuron=neuron), net.create(geometry=N, neuron=neuron)
    RelayProjection(src, relayed, "exc", net_id=net.id).one_to_one(weights=PUBLISHED.lgn.input_weight)
    net.connect(src, reference, "exc").one_to_one(weights=PUBLISHED.lgn.input_weight)
    monitors = [net.monitor(p, ["g_exc", "spike"]) for p in (relayed, reference)]
    compile_network(net, build_dir)
    net.simulate(T * PUBLISHED.dt)
    return [m.get("g_exc") for m in monitors], [m.get("spike") for m in monitors]


@pytest.mark.parametrize("threads", [1, 2])
def test_relay_transmits_as_annarchys_one_to_one(tmp_path, threads):
    (g, g_ref), (spikes, spikes_ref) = _relay_pair(tmp_path / "relay", threads)
    assert g.shape == (T, N)
    np.testing.assert_array_equal(g, g_ref)
    for k in range(N):
        expected = [int(s) + 1 for s in SPIKES[k]]             # one step later, every input spike
        assert list(spikes[k]) == expected, k
        assert list(spikes_ref[k]) == expected, k
    assert sum(len(s) for s in SPIKES) > 40


def test_relay_refuses_unequal_sizes():
    import ANNarchy as ann
    from simulator.relay import RelayProjection
    net = ann.Network(dt=1.0)
    a = net.create(ann.SpikeSourceArray(spike_times=[[1.0]] * 3))
    b = net.create(geometry=4, neuron=lgn_relay(PUBLISHED).annarchy())
    with pytest.raises(ValueError, match="3 onto 4"):
        RelayProjection(a, b, "exc", net_id=net.id)


@pytest.mark.parametrize("make", [adex, lgn_relay], ids=["adex", "lgn"])
def test_without_learning_variables_drops_exactly_their_equations(make):
    neuron = make(PUBLISHED)
    frozen = without_learning_variables(neuron)
    lines = [line.strip() for line in neuron.equations.splitlines() if line.strip()]
    kept = [line.strip() for line in frozen.equations.splitlines() if line.strip()]
    dropped = [line for line in lines if line not in kept]
    defined = {line.split("=")[0].strip().removeprefix("d").removesuffix("/dt") for line in dropped}
    assert defined == {v for v in LEARNING_VARIABLES
                       if any(line.startswith((f"d{v}/dt", f"{v} =")) for line in lines)}
    assert defined and len(kept) + len(dropped) == len(lines)
    assert (frozen.spike, frozen.reset, frozen.parameters) == (neuron.spike, neuron.reset, neuron.parameters)


def test_without_learning_variables_refuses_a_neuron_that_reads_them():
    neuron = NeuronModel(name="leaky trace", parameters={"tau": 10.0}, spike="v > 1", reset="v = 0",
                         equations="dxtrace/dt = -xtrace/tau\ndv/dt = xtrace - v/tau")
    with pytest.raises(ValueError, match="xtrace is read"):
        without_learning_variables(neuron)


GATHER = """
        if( _active ) {
            spiked.clear();

            for (int i = 0; i < size; i++) {


                // Spike emission
                if(state[i] == 0 && vm[i] > VT[i]){ // Condition is met
                    // Reset variables

                    vm[i] = 29.0;

                    state[i] = 2;

                    // Store the spike
                    spiked.push_back(i);
                    last_spike[i] = t;
                }
            }
        } // active
"""


def test_spike_condition_is_evaluated_first_and_words_without_spikes_skipped():
    from simulator.populations import hoist_spike_condition
    code, declarations = hoist_spike_condition(GATHER, 13)
    assert "std::vector<long long> _fires = std::vector<long long>(16, 0);" in declarations   # groups of 8
    # && as &: no branch per neuron (the comparisons read only the neuron's own variables)
    prepass = code.index("for (int i = 0; i < size; i++) _fires[i] = ((state[i] == 0) & (vm[i] > VT[i]));")
    assert code.index("spiked.clear();") < prepass < code.index("if(_fires[i]){ // Condition is met")
    assert "| _w[7]) == 0) { i += 7; continue; }" in code
    assert code.count("{") == code.count("}") and "vm[i] = 29.0;" in code


@pytest.mark.parametrize("condition, flag", [
    ("state[i] == 0 && vm[i] > VT[i]", "(state[i] == 0) & (vm[i] > VT[i])"),
    ("a[i] > 0 && !b[i] && c[i] <= 1.0", "(a[i] > 0) & (!b[i]) & (c[i] <= 1.0)"),
    ("g_exc[i] > VTrest", "g_exc[i] > VTrest"),                      # nothing to change
    ("a[i] > 0 || b[i] > 1", "a[i] > 0 || b[i] > 1"),                # || and && mixed: kept
    ("a[i] > 0 && b[i] > 1 || c[i]", "a[i] > 0 && b[i] > 1 || c[i]"),
    ("f(x[i]) && y[i] > 0", "f(x[i]) && y[i] > 0"),                  # a call
    ("(a[i] > 0) && b[i] < 1", "(a[i] > 0) && b[i] < 1"),            # parentheses
    ("a[i] & 1 && b[i]", "a[i] & 1 && b[i]"),                        # a bitwise operator
    ("a[i] > 0 ? b[i] : c[i]", "a[i] > 0 ? b[i] : c[i]"),
])
def test_conjunction_without_branches_only_where_the_value_is_the_same(condition, flag):
    from simulator.populations import _without_branches
    assert _without_branches(condition) == flag


@pytest.mark.parametrize("change", [
    ("state[i] = 2;", "state[i] = 2;\n                    count += 1;"),          # a reset of a global
    ("state[i] = 2;", "state[i] = 2;\n                    vm[i + 1] = 0.0;"),     # of another neuron
    ("spiked.clear();", "spiked.clear();\n            #pragma omp for"),           # not one thread's loop
])
def test_spike_condition_stays_in_place_where_moving_it_could_change_a_spike(change):
    from simulator.populations import hoist_spike_condition
    code = GATHER.replace(*change)
    assert hoist_spike_condition(code, 13) == (code, "")
