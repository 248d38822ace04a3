"""The V1 model: the model as one value (``parameters``: ``Model``, ``PUBLISHED``), its
named variants (``variants``), the neuron types written from a value (``neurons``), what
each layer is (``layers``), the training schedule (``schedule``), what a trained cell is
(``criteria``), the model as recorded data (``description``), network assembly
(``network``), the Poisson input (``poisson_input``) and the complete simulation state
(``state``).

Nothing here runs a training or writes files: that is ``training/``. Importing
``models`` does not import ANNarchy; building a network does.
"""
