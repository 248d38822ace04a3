"""Run machinery shared by training, analysis and evaluation: weight snapshots and the
model a run recorded (``snapshots``, the one loader), files written atomically
(``files``), the lock that gives an output folder to one process (``folder_lock``) and the
command-line conventions (``options``).

It imports ``models``; ``models``, ``rules`` and ``input`` never import it.
"""
