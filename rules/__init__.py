"""Learning rules of the V1 model: Clopath et al. (2010) voltage-based STDP for
excitatory synapses, Vogels et al. (2011) iSTDP for inhibitory synapses.

Each rule exists in two computationally equivalent forms (``VARIANTS``):

* ``literal``: the specification's equations written as they stand, one update
  per synapse per step, ANNarchy's own code. The reference.
* ``fast``: the same terms, computed only where and when they can change a
  weight (C++ in ``rules/cpp/``, hooked into ANNarchy by ``rules.fast``).
  Vogels: bit-identical to the literal form. Clopath: the LTP between two
  presynaptic spikes is summed in closed form (``rules/LAZY_LTP.md``), equal to
  the literal form to ~1e-12 relative.

Both are checked against numpy references in ``tests/test_rules.py``.
``make_projection`` is the one place that creates a projection of either form,
with the storage that form needs. This package imports nothing of the model: the
parameter values live in ``models/parameters.py``.
"""
from __future__ import annotations

import numpy as np

from rules.clopath import ClopathParams
from rules.vogels import VogelsParams

__all__ = ["ClopathParams", "VogelsParams", "VARIANTS", "make_projection"]

VARIANTS = ("fast", "literal")


def make_projection(net, pre, post, target: str, rule, variant: str, weights, *, delays=None,
                    name: str | None = None, flush_period: int | None = None, timers: bool = False):
    """Create one all-to-all projection of *net* and load its weights.

    :param rule: ``ClopathParams``, ``VogelsParams`` or None (static synapses, no learning).
    :param variant: "fast" or "literal". Static synapses are ANNarchy's own, except static
        synapses with non-uniform delays in the fast variant, which transmit with a ring of
        spikes in dense storage (``FastDelayedStaticProjection``; the same input to the bit).
    :param weights: (n_post, n_pre) initial weights; ``None`` entries create no synapse
        (used for the diagonal of a projection without self-connections).
    :param delays: None, or (n_post, n_pre) axonal delays in ms. ANNarchy supports
        non-uniform delays only with its LIL storage (the literal and static forms); the fast
        Clopath kernel keeps them itself and stores its weights dense and pre-major (a
        presynaptic column contiguous); everything else is stored dense.
    :param flush_period: steps after which the fast Clopath weights are current (one presentation).
    :param timers: the fast kernels time their sections (``section_times()``; for profiling).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (one of {', '.join(VARIANTS)})")
    if rule is not None and not isinstance(rule, (ClopathParams, VogelsParams)):
        raise TypeError(f"{name}: unknown rule type {type(rule).__name__}")
    storage, order, annarchy_delays = ("lil" if delays is not None else "dense"), None, delays
    if rule is None and delays is not None and variant == "fast" and np.ptp(delays) > 0:
        from rules.fast import FastDelayedStaticProjection
        proj = FastDelayedStaticProjection(pre, post, target, delays=delays, name=name, net_id=net.id)
        storage, order, annarchy_delays = "dense", "pre_to_post", None
    elif rule is None:
        proj = net.connect(pre, post, target, name=name)
        if storage == "dense":
            # pre-major: a spike adds one contiguous column (vectorised), where ANNarchy's
            # default post-major order sums each row's inputs first and then adds the sum.
            order = "pre_to_post"
    elif variant == "literal":
        from rules import clopath, vogels
        module = clopath if isinstance(rule, ClopathParams) else vogels
        proj = net.connect(pre, post, target, synapse=module.literal_synapse(rule), name=name)
    elif isinstance(rule, ClopathParams):
        from rules.fast import FastClopathProjection
        if flush_period is None:
            raise ValueError(f"{name}: the fast Clopath projection needs a flush_period")
        proj = FastClopathProjection(pre, post, target, rule, flush_period, delays=delays, timers=timers,
                                     name=name, net_id=net.id)
        storage, order, annarchy_delays = "dense", "pre_to_post", None
    else:
        from rules.fast import FastVogelsProjection
        proj = FastVogelsProjection(pre, post, target, rule, timers=timers, name=name, net_id=net.id)
    proj.from_matrix(weights, delays=0.0 if annarchy_delays is None else annarchy_delays, storage_format=storage,
                     storage_order=order)
    return proj
