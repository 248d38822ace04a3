"""Neuron types and per-layer network assembly of the V1 layer-4 / layer-2/3 model."""
