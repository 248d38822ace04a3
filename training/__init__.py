"""The run machinery of a training above the model: the command line of ``ann_L4.py``
and ``ann_L2_3.py`` and the callable ``train`` (``cli``), the training loop
(``trainer``), checkpoints on disk (``checkpoint``), the run record (``record``), the
output folder (``run_folder``), the early-failure check (``health``) and the figures of
a run (``plots``, ``monitor``).

It imports ``models``, ``simulator``, ``runs``, ``rules`` and ``input``; none of them
imports it.
"""
