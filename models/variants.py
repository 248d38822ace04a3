"""Named variants of the model: data, not source edits.

Each entry is a set of overrides of ``PUBLISHED`` (dotted keys, as ``--set`` takes them);
``variant(name)`` makes the validated value. ``ann_L4.py --model NAME`` trains one,
``python -m experiments.sweep --variants NAME ...`` sweeps them, and any of them can be
written as a TOML file for ``--params`` (``[adex]`` / ``gL = 35``).
"""
from __future__ import annotations

from models.parameters import PUBLISHED, Model, ModelError

VARIANTS = {
    # The published model (docs/model.md).
    "published": {},
    # More cells: 400 excitatory and 100 inhibitory cells in each layer.
    "large": {"sizes.n_exc": 400, "sizes.n_inh": 100, "sizes.n_exc2": 400, "sizes.n_inh2": 100},
    # Smaller patches: 12 x 12 pixels (288 LGN cells).
    "patch12": {"input.patch_size": 12},
    # A leakier membrane: gL 35 nS instead of 30.
    "leaky": {"adex.gL": 35.0},
    # A finer integration step: the same model at dt = 0.5 ms (docs/model.md §2).
    "fine_dt": {"dt": 0.5},
    # Longer presentations: 200 ms per patch (the ON/OFF balance stays every 20 s).
    "slow_presentation": {"input.presentation_ms": 200.0},
}


def variant(name: str) -> Model:
    """The model of the named variant; an unknown name is a one-line ``ModelError``."""
    if name not in VARIANTS:
        raise ModelError(f"unknown model variant {name!r} (known: {', '.join(VARIANTS)})")
    return PUBLISHED.with_overrides(VARIANTS[name], source=f"variant {name}:")
