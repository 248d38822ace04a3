"""The V1 model, what a scientist edits: the model as one value (``parameters``: ``Model``,
``PUBLISHED``), its named variants (``variants``), the neuron types written from a value
(``neurons``), what each layer is (``layers``), the training schedule (``schedule``), what
a trained cell is (``criteria``) and the model as recorded data (``description``).

The ANNarchy plumbing that builds and runs it is ``simulator/``; nothing here runs a
training or writes files (``training/``). ``models`` imports only ``rules`` and ``input``,
and never ANNarchy.
"""
