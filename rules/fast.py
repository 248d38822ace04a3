"""Fast forms of the learning rules: ANNarchy projections whose per-step update is
C++ from ``rules/cpp/``.

Each fast projection looks to ANNarchy like a synapse with the rule's parameters,
the transmission ``g_target += w`` and one projection-level variable,
``plasticity_step``. ANNarchy places that variable's statement in
``update_synapse()``, after the neurons of the step are updated, exactly where the
literal rule is evaluated; the code generator hook (``_generate_st`` /
``_generate_omp``) replaces the statement with a call into the kernel, pastes the
kernel file into the generated struct and, where the kernel transmits spikes
itself, replaces the body of ``compute_psp()``.

This depends on ANNarchy's code-generator interface ``SpecificProjection`` and on
the names the generated code uses (listed at the top of every kernel file): it is
written for and tested with ANNarchy 5.0.x, which ``requirements.txt`` pins.
"""
from __future__ import annotations

import string
from pathlib import Path

import ANNarchy as ann
import numpy as np
from ANNarchy.intern.ConfigManagement import ConfigManager
from ANNarchy.intern.SpecificProjection import SpecificProjection

from rules.clopath import ClopathParams

KERNELS = Path(__file__).resolve().parent / "cpp"
# The kernels' Python accessors for checkpoints (bodies in the kernel files).
_STATE_ACCESSORS = ("rule_state_get", "rule_state_set")


def kernel_source(name: str, **slots) -> str:
    """The C++ of ``rules/cpp/<name>`` with its ``${slot}`` placeholders filled."""
    return string.Template((KERNELS / name).read_text()).substitute(slots)


class FastProjection(SpecificProjection):
    """Shared base of the fast projections (see the module docstring).

    A subclass sets ``rule_name`` and implements ``_kernel(call_args)``, returning
    (C++ members, compute_psp body or None for ANNarchy's own, plasticity call).
    """
    rule_name = "fast rule"
    learns = True                 # False: static synapses (only the transmission is the kernel's)
    sections: tuple = ()          # names of the kernel's section timers, in order
    kernel_functions: tuple = ()  # further kernel functions bound to Python

    def __init__(self, pre, post, target, params, *, delays=None, timers: bool = False, name=None, copied=False,
                 net_id=0):
        self.params = params
        self.own_delays = None if delays is None else np.asarray(delays, dtype=np.float64)
        self.timers = bool(timers)
        synapse = ann.Synapse(
            parameters=params.annarchy_parameters() if params is not None else "",
            # The statement of this projection-level variable becomes the kernel call.
            equations="plasticity_step = 0.0 : projection",
            pre_spike="g_target += w",       # transmission; the kernels add the rest
            name=f"{self.rule_name} (fast)",
        )
        super().__init__(pre, post, target, synapse=synapse, name=name, copied=copied, net_id=net_id)
        # Bind the kernels' accessors to Python (their bodies are in the kernel files).
        bound = _STATE_ACCESSORS + ("section_times",) + self.kernel_functions
        self.synapse_type.description["functions"] += [{"name": n, "cpp": ""} for n in bound]

    # -- axonal delays kept by the kernel (rules/cpp/ring_transmission.hpp) --------------
    def _delay_steps(self) -> np.ndarray | None:
        """The delays in steps, (n_post, n_pre), or None without delays."""
        if self.own_delays is None:
            return None
        steps = np.rint(self.own_delays / ConfigManager().get("dt", self.net_id)).astype(int)
        if steps.shape != (self.post.size, self.pre.size) or steps.min() < 1:
            raise ValueError(f"{self.name}: delays must be ({self.post.size}, {self.pre.size}) and at least one step")
        return steps

    def _connect(self, module):
        """After ANNarchy has created the C++ object: hand the kernel its delays."""
        done = super()._connect(module)
        steps = self._delay_steps()
        if done and steps is not None and steps.max() > 1:
            # the kernel indexes lags pre-major, like the weights: [j * n_post + i]
            if not self.cyInstance.set_lags((steps - 1).T.ravel().tolist()):
                raise ValueError(f"{self.name}: the kernel refused the delays")
        return done

    # -- checkpoints (simulator/state.py) ---------------------------------------------
    def get_rule_state(self) -> list[float]:
        """The kernel's own state (traces, bookkeeping), valid between patches."""
        return self.cyInstance.rule_state_get()

    def set_rule_state(self, state) -> None:
        if not self.cyInstance.rule_state_set([float(v) for v in state]):
            raise ValueError(f"{self.name}: {len(state)} values of {self.rule_name} state do not fit this projection")

    def section_times(self) -> dict:
        """Seconds spent in each section of the kernel (thread 0), with ``timers=True``."""
        if not self.timers:
            return {}
        return dict(zip(self.sections, self.cyInstance.section_times()))

    # -- code generation ---------------------------------------------------------------
    def _options(self) -> dict:
        """Constructor arguments beyond (pre, post, target, params) of this subclass."""
        return {}

    def _copy(self, pre, post, net_id=None):
        """A copy for another network (ANNarchy's ``Network.connect(projection=...)``)."""
        return type(self)(pre, post, self.target, self.params, **self._options(), timers=self.timers,
                          name=self.name, copied=True, net_id=self.net_id if net_id is None else net_id)

    def _kernel(self, call_args: str) -> tuple[str, str | None, str]:
        raise NotImplementedError

    def _install(self, call_args: str) -> None:
        members, psp, step = self._kernel(call_args)
        self._specific_template["declare_additional"] = members
        if psp is not None:
            self._specific_template["psp_prefix"] = ""
            self._specific_template["psp_code"] = psp
        for var in self.synapse_type.description["variables"]:
            if var["name"] == "plasticity_step":
                var["cpp"] = step

    def _generate_st(self):
        self._install("0, 1")

    def _generate_omp(self):
        self._install("tid, nt")

    def _generate_cuda(self):
        raise NotImplementedError(f"the fast {self.rule_name} projection has no CUDA version")


class FastClopathProjection(FastProjection):
    """Clopath projection with the lazy-LTP update (``rules/cpp/clopath.hpp``).

    All-to-all between two populations, stored dense and pre-major
    (``storage_order="pre_to_post"``: a presynaptic column is contiguous). Weights are
    current at the end of every ``flush_period`` steps (one presentation).

    :param delays: None, or the axonal delay of every synapse, (n_post, n_pre) in ms. The
        kernel then transmits the spikes itself with these delays and follows ANNarchy's
        literal rule, which reads the presynaptic Spike and xtrace ``delay - 1`` steps
        late; connect the projection without ANNarchy delays.
    """
    rule_name = "Clopath"
    sections = ("running sums", "histories", "columns", "columns at period end", "delayed transmission")

    kernel_functions = ("set_lags",)

    def __init__(self, pre, post, target, params: ClopathParams, flush_period: int, delays=None, **kwargs):
        self.flush_period = int(flush_period)
        super().__init__(pre, post, target, params, delays=delays, **kwargs)

    def _options(self):
        return {"flush_period": self.flush_period, "delays": self.own_delays}

    def _kernel(self, call_args):
        if self.pre is self.post:
            raise ValueError(f"{self.name}: the fast Clopath projection needs two distinct populations")
        if self._storage_format != "dense" or self._storage_order != "pre_to_post":
            raise ValueError(f"{self.name}: the fast Clopath projection needs dense, pre-major storage "
                             "(storage_format='dense', storage_order='pre_to_post')")
        if self.max_delay > 1:
            raise ValueError(f"{self.name}: give the delays to the projection (delays=...), not to ANNarchy")
        steps = self._delay_steps()
        max_delay = 1 if steps is None else int(steps.max())
        members = kernel_source("clopath.hpp", pre=self.pre.id, post=self.post.id, n_pre=self.pre.size,
                                n_post=self.post.size, period=self.flush_period, max_delay=max_delay,
                                target=self.target, timers=str(self.timers).lower())
        members += kernel_source("ring_transmission.hpp")
        psp = f"delayed_psp({call_args});" if max_delay > 1 else None
        return members, psp, f"clopath_step({call_args});"


class FastVogelsProjection(FastProjection):
    """Vogels projection with per-cell traces (``rules/cpp/vogels.hpp``), dense all-to-all."""
    rule_name = "Vogels iSTDP"
    sections = ("transmission and pre-spike updates", "trace decay", "post-spike updates")

    def _kernel(self, call_args):
        if self._storage_format != "dense":
            raise ValueError(f"{self.name}: the fast Vogels projection needs storage_format='dense'")
        members = kernel_source("vogels.hpp", pre=self.pre.id, post=self.post.id, n_pre=self.pre.size,
                                n_post=self.post.size, target=self.target, timers=str(self.timers).lower())
        return members, f"vogels_psp({call_args});", f"vogels_step({call_args});"


class FastDelayedStaticProjection(FastProjection):
    """Static synapses with non-uniform axonal delays (``rules/cpp/delayed_static.hpp``).

    The frozen layer 2/3 of a snapshot (analysis, evaluation) has static projections with
    the recorded delays. ANNarchy keeps those in LIL storage with a transmission it calls
    slow; this projection stores them dense and pre-major and transmits with a ring of
    spikes in flight, in ANNarchy's order of additions (the same input, bit for bit:
    ``tests/test_pipeline.py``). Nothing learns.

    :param delays: the axonal delay of every synapse, (n_post, n_pre) in ms.
    """
    rule_name = "static, delayed"
    learns = False
    kernel_functions = ("set_lags", "clear_delayed_spikes", "clear_at_presentations")

    def __init__(self, pre, post, target, params=None, *, delays, **kwargs):
        super().__init__(pre, post, target, None, delays=delays, **kwargs)

    def _options(self):
        return {"delays": self.own_delays}

    def _kernel(self, call_args):
        if self._storage_format != "dense" or self._storage_order != "pre_to_post":
            raise ValueError(f"{self.name}: the delayed static projection needs dense, pre-major storage")
        members = kernel_source("delayed_static.hpp", pre=self.pre.id, post=self.post.id, n_pre=self.pre.size,
                                n_post=self.post.size, max_delay=int(self._delay_steps().max()),
                                target=self.target) + kernel_source("ring_transmission.hpp")
        return members, f"static_psp({call_args});", "/* static: nothing learns */"
