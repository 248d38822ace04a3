"""Learning rules of the V1 model: Clopath et al. (2010) voltage-based STDP for
excitatory synapses, Vogels et al. (2011) iSTDP for inhibitory synapses.

Each rule exists in two computationally equivalent forms:

* ``literal``: the specification's equations written as they stand, one update
  per synapse per step, ANNarchy's default storage. The reference.
* ``fast``: the same terms, computed only where and when they can change a
  weight (C++ generated inside ANNarchy by ``SpecificProjection`` subclasses).
  Vogels: bit-identical to the literal form. Clopath: the LTP between two
  presynaptic spikes is summed in closed form, equal to the literal form to
  ~1e-12 relative. Both are checked against numpy references in
  ``tests/test_rules.py``; network-level equivalence in ``benchmarks/bench.py``.
"""
from rules.clopath import clopath_synapse, FastClopathProjection
from rules.vogels import vogels_synapse, FastVogelsProjection

__all__ = ["clopath_synapse", "FastClopathProjection", "vogels_synapse", "FastVogelsProjection", "VARIANTS"]

VARIANTS = ("fast", "literal")
