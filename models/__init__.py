"""The V1 model: every number (``parameters``), the neuron types (``neurons``), the
Poisson input (``poisson_input``), what each layer is (``layers``), the training
schedule (``schedule``), network assembly (``network``) and access to the complete
simulation state (``state``).

Nothing here runs a training or writes files: that is ``training/``. Importing
``models`` does not import ANNarchy; building a network does.
"""
