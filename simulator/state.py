"""The complete simulation state of a compiled network, between two patches.

``capture_network`` returns everything the simulation will read again, so that a
network put back into it with ``restore_network`` continues bit for bit
(training checkpoints, ``training.checkpoint``, are built on it):

* every population attribute (vm, adaptation, thresholds, homeostatic means,
  traces, conductances, Poisson rates), the spikes of the last step (they are
  transmitted on the next one), the last spike times and, with axonal delays,
  the spikes and variables still in flight;
* every synaptic variable of every projection (weights, literal traces) and,
  for the fast rules, their per-column bookkeeping (``rules/``);
* the state of every Mersenne twister of ANNarchy's C++ kernel (Poisson input);
* the simulation step.

(The training loop adds its own counters: ``training.trainer``.)

ANNarchy exposes only part of this to Python. ``add_state_access`` adds small
C++ accessors (``ckpt_get_*``/``ckpt_set_*``) to the generated populations and
projections before compilation; they read and write the kernel's own
containers and change nothing in the simulation. They name ANNarchy 5.0's
internal containers: ``spiked``, ``last_spike``, ``refractory_remaining``,
``_delayed_spike`` and ``_delayed_<var>`` (populations), ``_delayed_spikes`` and
``idx_delay`` (projections with non-uniform delays) and ``rng`` (the global vector
of ``std::mt19937``).
"""
from __future__ import annotations

import numpy as np


class StateError(Exception):
    """A captured state that does not fit this network (one line)."""


# -- C++ accessors, added before compilation ------------------------------------------
def _fn(name: str, cpp: str) -> dict:
    return {"name": name, "cpp": cpp}


def _pop_accessors(pop, delayed_variables, with_rng: bool) -> list[dict]:
    funcs = [
        _fn("ckpt_get_spiked", "std::vector<int> ckpt_get_spiked() { return spiked; }"),
        _fn("ckpt_set_spiked", "void ckpt_set_spiked(std::vector<int> v) { spiked = v; }"),
        _fn("ckpt_get_last_spike", "std::vector<long int> ckpt_get_last_spike() { return last_spike; }"),
        _fn("ckpt_set_last_spike", "void ckpt_set_last_spike(std::vector<long int> v) { last_spike = v; }"),
    ]
    if pop.neuron_type.refractory or pop.refractory:
        funcs += [
            _fn("ckpt_get_refractory_remaining",
                "std::vector<int> ckpt_get_refractory_remaining() { return refractory_remaining; }"),
            _fn("ckpt_set_refractory_remaining",
                "void ckpt_set_refractory_remaining(std::vector<int> v) { refractory_remaining = v; }"),
        ]
    if pop.max_delay > 1:
        # Spikes and variables queued for delayed transmission (deques of max_delay entries).
        funcs += [
            _fn("ckpt_get_delayed_spike",
                "std::vector<std::vector<int>> ckpt_get_delayed_spike() "
                "{ return std::vector<std::vector<int>>(_delayed_spike.begin(), _delayed_spike.end()); }"),
            _fn("ckpt_set_delayed_spike",
                "void ckpt_set_delayed_spike(std::vector<std::vector<int>> v) "
                "{ _delayed_spike = std::deque<std::vector<int>>(v.begin(), v.end()); }"),
        ]
        for var in delayed_variables:
            funcs += [
                _fn(f"ckpt_get_delayed_{var}",
                    f"std::vector<std::vector<double>> ckpt_get_delayed_{var}() "
                    f"{{ return std::vector<std::vector<double>>(_delayed_{var}.begin(), _delayed_{var}.end()); }}"),
                _fn(f"ckpt_set_delayed_{var}",
                    f"void ckpt_set_delayed_{var}(std::vector<std::vector<double>> v) "
                    f"{{ _delayed_{var} = std::deque<std::vector<double>>(v.begin(), v.end()); }}"),
            ]
    if with_rng:
        # One std::mt19937 per source (thread); its textual state is exact.
        funcs += [
            _fn("ckpt_get_rng", """std::string ckpt_get_rng() {
        std::ostringstream out;
        out << rng.size();
        for (auto &g : rng) out << ' ' << g;
        return out.str();
    }"""),
            _fn("ckpt_set_rng", """bool ckpt_set_rng(std::string text) {
        std::istringstream in(text);
        size_t n = 0;
        in >> n;
        if (!in || n != rng.size()) return false;
        for (auto &g : rng) in >> g;
        return !in.fail();
    }"""),
        ]
    return funcs


def _proj_accessors(proj) -> list[dict]:
    if not (proj.max_delay > 1 and proj.uniform_delay == -1):
        return []
    # Non-uniform delays: a ring of max_delay slots, each a list of presynaptic ranks per row.
    return [
        _fn("ckpt_get_delayed_spikes",
            "std::vector<std::vector<std::vector<int>>> ckpt_get_delayed_spikes() { return _delayed_spikes; }"),
        _fn("ckpt_set_delayed_spikes",
            "void ckpt_set_delayed_spikes(std::vector<std::vector<std::vector<int>>> v) { _delayed_spikes = v; }"),
        _fn("ckpt_get_idx_delay", "int ckpt_get_idx_delay() { return idx_delay; }"),
        _fn("clear_delayed_spikes", "void clear_delayed_spikes() "
                                    "{ for (auto &slot : _delayed_spikes) for (auto &row : slot) row.clear(); }"),
        _fn("ckpt_set_idx_delay", "void ckpt_set_idx_delay(int v) { idx_delay = v; }"),
    ]


def delayed_variables(pops: dict, projs: dict) -> dict:
    """id(population) -> the variables ANNarchy keeps in delay queues for it: those that a
    delayed projection reads from its presynaptic population (as ANNarchy's CodeGenerator)."""
    delayed = {id(pop): set() for pop in pops.values()}
    for proj in projs.values():
        if proj.max_delay > 1:
            delayed[id(proj.pre)] |= set(proj.synapse_type.description["dependencies"]["pre"])
    return delayed


def add_state_access(pops: dict, projs: dict, rng_population: str) -> None:
    """Add the state accessors to the populations and projections (before compile)."""
    delayed = delayed_variables(pops, projs)
    for pop in pops.values():
        pop.delayed_names = sorted(delayed[id(pop)])      # read by VectorisedPopulation's reset code
    for name, pop in pops.items():
        pop.neuron_type.description["functions"] += _pop_accessors(
            pop, sorted(delayed[id(pop)]), with_rng=name == rng_population)
    for proj in projs.values():
        proj.synapse_type.description["functions"] += _proj_accessors(proj)


# -- capture and restore ------------------------------------------------------------------
def _pack(nested) -> tuple[np.ndarray, np.ndarray]:
    """List of int lists -> (concatenation, lengths)."""
    lengths = np.array([len(x) for x in nested], dtype=np.int64)
    flat = np.concatenate([np.asarray(x, dtype=np.int64) for x in nested]) if len(nested) else np.zeros(0, np.int64)
    return flat.astype(np.int64), lengths


def _unpack(flat: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [flat[bounds[k]:bounds[k + 1]].tolist() for k in range(len(lengths))]


def _synapse_variables(proj) -> list[str]:
    names = ["w"]
    for var in proj.synapse_type.description["variables"]:
        if var["name"] != "w" and var["locality"] != "global":
            names.append(var["name"])
    return names


def capture_network(network) -> dict[str, np.ndarray]:
    """The simulation state of a compiled ``V1Network`` at a patch boundary."""
    step = network.net.current_step
    if step % network.steps_per_patch:
        raise RuntimeError(f"the state is captured between patches; now at step {step}")
    state = {"net/step": np.array(step, dtype=np.int64)}
    for name, pop in network.pops.items():
        key, inst = f"pop/{name}", pop.cyInstance
        for attr in pop.attributes:
            state[f"{key}/attr/{attr}"] = np.array(pop.get(attr), dtype=np.float64)
        state[f"{key}/spiked"] = np.array(inst.ckpt_get_spiked(), dtype=np.int64)
        state[f"{key}/last_spike"] = np.array(inst.ckpt_get_last_spike(), dtype=np.int64)
        if hasattr(inst, "ckpt_get_refractory_remaining"):
            state[f"{key}/refractory_remaining"] = np.array(inst.ckpt_get_refractory_remaining(), dtype=np.int64)
        if pop.max_delay > 1:
            state[f"{key}/delayed_spike"], state[f"{key}/delayed_spike_len"] = _pack(inst.ckpt_get_delayed_spike())
            for var in pop.delayed_variables:
                state[f"{key}/delayed/{var}"] = np.array(getattr(inst, f"ckpt_get_delayed_{var}")(), dtype=np.float64)
        if hasattr(inst, "ckpt_get_rng"):
            state["net/rng"] = np.array(inst.ckpt_get_rng())
    for name, proj in network.projs.items():
        key, inst = f"proj/{name}", proj.cyInstance
        for var in _synapse_variables(proj):
            state[f"{key}/var/{var}"] = np.array(getattr(proj, var), dtype=np.float64)
        if hasattr(inst, "ckpt_get_delayed_spikes"):
            ring = inst.ckpt_get_delayed_spikes()
            state[f"{key}/delayed_spikes_shape"] = np.array([len(ring), len(ring[0]) if ring else 0])
            state[f"{key}/delayed_spikes"], state[f"{key}/delayed_spikes_len"] = \
                _pack([row for slot in ring for row in slot])
            state[f"{key}/idx_delay"] = np.array(inst.ckpt_get_idx_delay(), dtype=np.int64)
        if hasattr(proj, "get_rule_state"):      # fast rules: their C++ state
            state[f"{key}/rule_state"] = np.asarray(proj.get_rule_state(), dtype=np.float64)
    if "net/rng" not in state:
        raise RuntimeError("no population exposes ANNarchy's random generators")
    return state


def restore_network(network, state: dict) -> None:
    """Put a compiled ``V1Network`` (same model, same threads) in the captured state."""
    for name, pop in network.pops.items():
        key, inst = f"pop/{name}", pop.cyInstance
        for attr in pop.attributes:
            value = state[f"{key}/attr/{attr}"]
            pop.set({attr: value if value.ndim else float(value)})
        inst.ckpt_set_spiked(state[f"{key}/spiked"].tolist())
        inst.ckpt_set_last_spike(state[f"{key}/last_spike"].tolist())
        if hasattr(inst, "ckpt_set_refractory_remaining"):
            inst.ckpt_set_refractory_remaining(state[f"{key}/refractory_remaining"].tolist())
        if pop.max_delay > 1:
            inst.ckpt_set_delayed_spike(_unpack(state[f"{key}/delayed_spike"], state[f"{key}/delayed_spike_len"]))
            for var in pop.delayed_variables:
                getattr(inst, f"ckpt_set_delayed_{var}")(state[f"{key}/delayed/{var}"].tolist())
        if hasattr(inst, "ckpt_set_rng") and not inst.ckpt_set_rng(str(state["net/rng"])):
            raise StateError("the random generators of the saved state do not match this thread count")
    for name, proj in network.projs.items():
        key, inst = f"proj/{name}", proj.cyInstance
        for var in _synapse_variables(proj):
            setattr(proj, var, state[f"{key}/var/{var}"])
        if hasattr(inst, "ckpt_set_delayed_spikes"):
            n_slots, n_rows = (int(v) for v in state[f"{key}/delayed_spikes_shape"])
            rows = _unpack(state[f"{key}/delayed_spikes"], state[f"{key}/delayed_spikes_len"])
            inst.ckpt_set_delayed_spikes([rows[s * n_rows:(s + 1) * n_rows] for s in range(n_slots)])
            inst.ckpt_set_idx_delay(int(state[f"{key}/idx_delay"]))
        if hasattr(proj, "set_rule_state"):
            proj.set_rule_state(state[f"{key}/rule_state"])
    network.net.current_step = int(state["net/step"])
