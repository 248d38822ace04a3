"""Experiments built on the package: sweeps of seeds x model variants (``experiments.sweep``), their
members placed on a Dask cluster by ``experiments.cluster`` (which the seed study, ``analysis.seed_study``,
uses too)."""
