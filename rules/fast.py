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

    def __init__(self, pre, post, target, params, *, name=None, copied=False, net_id=0):
        self.params = params
        synapse = ann.Synapse(
            parameters=params.annarchy_parameters(),
            # The statement of this projection-level variable becomes the kernel call.
            equations="plasticity_step = 0.0 : projection",
            pre_spike="g_target += w",       # transmission; the kernels add the rest
            name=f"{self.rule_name} (fast)",
        )
        super().__init__(pre, post, target, synapse=synapse, name=name, copied=copied, net_id=net_id)
        # Bind the kernels' checkpoint accessors to Python (their bodies are in the kernel file).
        self.synapse_type.description["functions"] += [{"name": n, "cpp": ""} for n in _STATE_ACCESSORS]

    # -- checkpoints (models/state.py) ---------------------------------------------
    def get_rule_state(self) -> list[float]:
        """The kernel's own state (traces, bookkeeping), valid between patches."""
        return self.cyInstance.rule_state_get()

    def set_rule_state(self, state) -> None:
        if not self.cyInstance.rule_state_set([float(v) for v in state]):
            raise ValueError(f"{self.name}: {len(state)} values of {self.rule_name} state do not fit this projection")

    # -- code generation ---------------------------------------------------------------
    def _options(self) -> dict:
        """Constructor arguments beyond (pre, post, target, params) of this subclass."""
        return {}

    def _copy(self, pre, post, net_id=None):
        """A copy for another network (ANNarchy's ``Network.connect(projection=...)``)."""
        return type(self)(pre, post, self.target, self.params, **self._options(), name=self.name,
                          copied=True, net_id=self.net_id if net_id is None else net_id)

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

    All-to-all between two populations, stored dense pre-major
    (``storage_order="pre_to_post"``: a presynaptic column is contiguous) or, with
    non-uniform delays, LIL. Weights are current at the end of every ``flush_period``
    steps (one presentation).
    """
    rule_name = "Clopath"

    def __init__(self, pre, post, target, params: ClopathParams, flush_period: int, **kwargs):
        self.flush_period = int(flush_period)
        super().__init__(pre, post, target, params, **kwargs)

    def _options(self):
        return {"flush_period": self.flush_period}

    def _kernel(self, call_args):
        if self.pre is self.post:
            raise ValueError(f"{self.name}: the fast Clopath projection needs two distinct populations")
        n_post, n_pre = self.post.size, self.pre.size
        slots = dict(pre=self.pre.id, post=self.post.id, n_pre=n_pre, n_post=n_post,
                     period=self.flush_period, max_delay=max(1, self.max_delay), check_rows="",
                     target=self.target)
        uniform_lag = str(max(0, self.uniform_delay - 1)) if self.uniform_delay > 1 else "0"
        if self._storage_format == "dense":
            if self._storage_order != "pre_to_post":
                raise ValueError(f"{self.name}: the fast Clopath projection needs storage_order='pre_to_post'")
            slots.update(w_access=f"w[j*{n_post} + i]", contiguous="true",
                         column=f"w.data() + (size_t)j*{n_post}", lag=uniform_lag)
        elif self._storage_format == "lil":
            slots.update(w_access="w[i][j]", contiguous="false", column="nullptr",
                         lag="(delay[i][j] - 1)" if self.uniform_delay == -1 else uniform_lag)
            # The kernel indexes w[i][j] by rank: rows must be complete and in rank order.
            slots["check_rows"] = (
                "for (int i = 0; i < (int)post_rank.size(); i++) {\n"
                f"            bool ok = post_rank[i] == i && (int)pre_rank[i].size() == {n_pre};\n"
                f"            for (int j = 0; ok && j < {n_pre}; j++) ok = pre_rank[i][j] == j;\n"
                f'            if (!ok) {{ std::cerr << "{self.name}: fast Clopath needs complete all-to-all rows" '
                "<< std::endl; std::abort(); }\n"
                "        }")
        else:
            raise ValueError(f"{self.name}: the fast Clopath projection needs dense or lil storage")
        members = kernel_source("clopath.hpp", **slots)
        psp = None
        if self._storage_format == "lil" and self.uniform_delay == -1:
            members += kernel_source("clopath_delayed_psp.hpp", **slots)
            psp = f"delayed_psp({call_args});"
        return members, psp, f"clopath_step({call_args});"


class FastVogelsProjection(FastProjection):
    """Vogels projection with per-cell traces (``rules/cpp/vogels.hpp``), dense all-to-all."""
    rule_name = "Vogels iSTDP"

    def _kernel(self, call_args):
        if self._storage_format != "dense":
            raise ValueError(f"{self.name}: the fast Vogels projection needs storage_format='dense'")
        members = kernel_source("vogels.hpp", pre=self.pre.id, post=self.post.id, n_pre=self.pre.size,
                                n_post=self.post.size, target=self.target)
        return members, f"vogels_psp({call_args});", f"vogels_step({call_args});"
