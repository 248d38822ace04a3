"""The run machinery above the model: the command line of ``ann_L4.py`` and
``ann_L2_3.py`` (``cli``), the training loop (``trainer``), checkpoints on disk
(``checkpoint``), the run record and resume guard (``record``), the output folder
(``run_folder``, ``files``), weight snapshots (``snapshots``, the one loader), the
ANNarchy command line (``annarchy_env``) and the figures of a run (``plots``).

It imports ``models``, ``rules`` and ``input``; none of them imports it.
"""
