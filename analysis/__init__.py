"""Analyses of a trained V1 model (docs/model.md §6 and §7), pure numpy/scipy/matplotlib.

- ``receptive_fields``: ON - OFF receptive-field images and weight histograms.
- ``rezeptiv``: command-line view of the receptive fields of a layer-4 run.
- ``gabor``: 2-D Gabor fits of receptive fields (Jones & Palmer 1987).
- ``tuning``: sinusoidal gratings and orientation-tuning measures (Ringach et al. 2002).
- ``sparseness``: population and lifetime sparseness (Vinje & Gallant 2000).
- ``sta``: spike-triggered averages and field correlations.

Nothing here imports ANNarchy: the analyses read weight snapshots and rate arrays.
"""

# Analysis driver (simulates a frozen copy of the trained network; imports ANNarchy
# only when a network is built, so importing this package stays ANNarchy-free):
# - ``responses``: stimuli -> ON/OFF rates, frozen network of a snapshot, spike counts.
# - ``figures``: the figures of the analysis report.
# - ``analyze``: ``python analyze.py OUT_DIR``: Gabor fits, orientation tuning,
#   sparseness, STA -> figures, metrics.json and report.md.
