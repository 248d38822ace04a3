"""Learning rules of the V1 model: Clopath et al. (2010) voltage-based STDP for
excitatory synapses, Vogels et al. (2011) iSTDP for inhibitory synapses.

Each rule exists in two computationally equivalent forms:

* ``literal``: the specification's equations written as they stand, one update
  per synapse per step, ANNarchy's default storage. The reference.
* ``fast``: the same arithmetic, evaluated only where it can change a weight
  (generated C++ inside ANNarchy, see ``rules.fast``). Bit-identical to the
  literal form on the same inputs; proven by ``tests/test_rules_equivalence.py``.
"""
from rules.clopath import clopath_synapse, FastClopathProjection
from rules.vogels import vogels_synapse, FastVogelsProjection

VARIANTS = ("fast", "literal")
