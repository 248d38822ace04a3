"""Voltage-based STDP of Clopath et al. (2010), Nat Neurosci 13:344 (docs/model.md §3).

    dw/dt = -LTD + LTP,  w >= 0
    LTD = aLTD * (post.vmean / urefsquare) * pre.Spike * [post.umeanLTD - thetaLTD]+   (only while w > wMin)
    LTP = aLTP * [post.vm - thetaLTP]+ * pre.xtrace * [post.umeanLTP - thetaLTD]+       (only while w < wMax)

A presynaptic spike adds w to the target conductance. This module holds the rule's
parameter type and its literal form, the equations as they stand, one update per
synapse per step (ANNarchy's own code): the reference. The fast form, which
computes the same weights with far less work, is ``rules.fast.FastClopathProjection``
(C++ in ``rules/cpp/clopath.hpp``, derivation in ``rules/LAZY_LTP.md``).

The values of every projection are in ``models/parameters.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

# The literal rule in ANNarchy's equation syntax. `pos(x)` is max(x, 0); a bound
# `min=0.0` clips w after every update, as the specification's w >= 0.
LITERAL_EQUATIONS = """
    ltdTerm = if w > wMin: aLTD*(post.vmean/urefsquare)*pre.Spike*pos(post.umeanLTD - thetaLTD) else: 0.0
    ltpTerm = if w < wMax: aLTP*pos(post.vm - thetaLTP)*pre.xtrace*pos(post.umeanLTP - thetaLTD) else: 0.0
    dw/dt = -ltdTerm + ltpTerm : min=0.0
"""
PRE_SPIKE = "g_target += w"


@dataclass(frozen=True)
class ClopathParams:
    """Parameters of one Clopath projection (units: mV, ms)."""
    urefsquare: float    # mV^2, reference of the homeostatic LTD scaling vmean / urefsquare
    aLTD: float          # 1/(ms mV), LTD amplitude
    aLTP: float          # 1/(ms mV^2), LTP amplitude
    wMin: float          # LTD is off at w <= wMin
    wMax: float          # LTP is off at w >= wMax
    thetaLTD: float      # mV, threshold of the low-passed potentials umeanLTD, umeanLTP
    thetaLTP: float      # mV, threshold of the membrane potential for LTP

    def annarchy_parameters(self) -> str:
        """The parameter block of an ANNarchy synapse (one value per projection)."""
        return "\n".join(f"{name} = {value!r} : projection" for name, value in (
            ("thetaLTD", self.thetaLTD), ("thetaLTP", self.thetaLTP), ("aLTD", self.aLTD),
            ("aLTP", self.aLTP), ("urefsquare", self.urefsquare), ("wMin", self.wMin),
            ("wMax", self.wMax)))


def literal_synapse(params: ClopathParams):
    """The literal Clopath synapse (an ``ANNarchy.Synapse``): one dw/dt per synapse per step."""
    import ANNarchy as ann
    return ann.Synapse(parameters=params.annarchy_parameters(), equations=LITERAL_EQUATIONS,
                       pre_spike=PRE_SPIKE, name="Clopath (literal)")
