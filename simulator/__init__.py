"""The ANNarchy plumbing under the model: network assembly (``network``: ``build_network``,
``V1Network``), the Poisson input that switches patches in the kernel (``poisson_input``,
C++ in ``cpp/``), the vectorised neuron update and initial-state hooks (``populations``),
the complete simulation state for checkpoints (``state``) and the command line ANNarchy
sees (``annarchy_env``).

It imports ``models`` (the model value, neurons, layers) and ``rules``; ``models`` never
imports it.
"""
