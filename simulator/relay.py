"""The one-to-one projection from the Poisson input to the LGN relay, transmitted directly.

Every Poisson cell drives the LGN cell of the same rank with one weight (docs/model.md §1).
ANNarchy stores a one-to-one projection as a list of lists and, for every presynaptic
spike, looks the cell up in a search tree of its targets before adding the weight: with
~4,000 input spikes per 125-ms presentation that lookup was about a sixth of the frozen
network's step. ``RelayProjection`` is the same projection (ANNarchy's connectivity,
weight and accessors) whose transmission adds the weight to the target of the same rank
directly: one addition per spike and target, as before, so the conductances are the same
bit for bit (``tests/test_presentations.py``).

Depends on ANNarchy's code-generator interface ``SpecificProjection`` and on the names of
its generated code (ANNarchy 5.0.x, checked with 5.0.4): pop<id>, spiked, _active,
_transmission, g_<target>, and the projection's single weight ``w`` (a one-to-one
projection with one weight for all synapses stores it once).
"""
from __future__ import annotations

from ANNarchy.intern.SpecificProjection import SpecificProjection

_TRANSMIT = """
        if (_transmission && pop{post}->_active) {{
            for (const int rank : pop{pre}->spiked) {{
                {owner}pop{post}->g_{target}[rank] += w;
            }}
        }}
"""


class RelayProjection(SpecificProjection):
    """One-to-one static synapses of one weight, pre rank i to post rank i (see module docstring).

    Connect with ``one_to_one(weights=w)`` and a single number *w*.
    """

    def __init__(self, pre, post, target, name=None, copied=False, net_id=0):
        if pre.size != post.size:
            raise ValueError(f"one-to-one relay of {pre.size} onto {post.size} cells")
        super().__init__(pre, post, target, name=name, copied=copied, net_id=net_id)

    def _copy(self, pre, post, net_id=None):
        return RelayProjection(pre, post, self.target, name=self.name, copied=True,
                               net_id=self.net_id if net_id is None else net_id)

    def _install(self, owner: str) -> None:
        self._specific_template["psp_prefix"] = ""
        self._specific_template["psp_code"] = _TRANSMIT.format(pre=self.pre.id, post=self.post.id,
                                                              target=self.target, owner=owner)

    def _generate_st(self):
        self._install("")

    def _generate_omp(self):
        # every thread runs compute_psp: each adds to the cells of its own ranks
        self._install("if (rank % nt == tid) ")

    def _generate_cuda(self):
        raise NotImplementedError("RelayProjection has no CUDA version")
