"""Experiments built on the package: sweeps of seeds x model variants (``experiments.sweep``)."""
