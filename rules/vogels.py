"""Inhibitory STDP of Vogels et al. (2011), Science 334:1569, in the (1 + w)
variant of this model (docs/model.md §3).

Traces tracePre and tracePost decay with taupre (explicit Euler, every step).
    presynaptic spike:  g_Inh += w;  w += aPlus*(tracePost - Offset)*(1 + w);  tracePre += 1
    postsynaptic spike: w += aPlus*tracePre*(1 + w);  tracePost += 1
After each update w is clipped to [hMin, hMax].

This module holds the rule's parameter type and its literal form (per-synapse
traces, ANNarchy's own code): the reference. The fast form, bit-identical with
per-cell traces, is ``rules.fast.FastVogelsProjection`` (``rules/cpp/vogels.hpp``).
The values of every projection are in ``models/parameters.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

LITERAL_EQUATIONS = """
    dtracePre/dt = -tracePre/taupre
    dtracePost/dt = -tracePost/taupre
"""
PRE_SPIKE = """
    g_target += w
    w = clip(w + aPlus*(tracePost - Offset)*(1 + w), hMin, hMax)
    tracePre += 1
"""
POST_SPIKE = """
    w = clip(w + aPlus*tracePre*(1 + w), hMin, hMax)
    tracePost += 1
"""


@dataclass(frozen=True)
class VogelsParams:
    """Parameters of one Vogels projection."""
    aPlus: float         # learning rate (dimensionless per event)
    Offset: float        # target-rate offset subtracted from tracePost on a presynaptic spike
    taupre: float        # ms, time constant of tracePre and tracePost
    hMin: float          # lower weight bound
    hMax: float          # upper weight bound

    def annarchy_parameters(self) -> str:
        """The parameter block of an ANNarchy synapse (one value per projection)."""
        return "\n".join(f"{name} = {value!r} : projection" for name, value in (
            ("taupre", self.taupre), ("aPlus", self.aPlus), ("Offset", self.Offset),
            ("hMin", self.hMin), ("hMax", self.hMax)))


def literal_synapse(params: VogelsParams):
    """The literal Vogels synapse (an ``ANNarchy.Synapse``): per-synapse traces, decayed every step."""
    import ANNarchy as ann
    return ann.Synapse(parameters=params.annarchy_parameters(), equations=LITERAL_EQUATIONS,
                       pre_spike=PRE_SPIKE, post_spike=POST_SPIKE, name="Vogels iSTDP (literal)")
