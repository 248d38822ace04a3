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
    # Other numbers, the same equations: every number of the AdEx cell and its 2-ms spike, of
    # the LGN relay, the rules' shared thresholds, trace time constant and bound, and the rules
    # of LGN->E and I->E moved by 2-30 % from the published ones. How much does a result hang
    # on the exact numbers? The neuron and rule tests run for it beside the published model.
    "perturbed": {
        "adex.C": 250.0, "adex.gL": 35.0, "adex.EL": -68.0, "adex.DeltaT": 2.5, "adex.tauw": 100.0, "adex.a": 5.0,
        "adex.b": 0.2, "adex.Isp": 350.0, "adex.tauz": 30.0, "adex.VTrest": -52.0, "adex.VTMax": -32.0,
        "adex.tauVT": 40.0, "adex.taux": 12.0, "adex.tauLTD": 12.0, "adex.tauLTP": 6.0, "adex.taumean": 600.0,
        "adex.tau_gInh": 8.0, "adex.spike_peak": 25.0, "adex.spike_upstroke": 4.0,
        "adex.spike_downstroke_to": -50.0, "adex.z_jump_offset": 12.0, "adex.vt_jump_offset": 0.5,
        "adex.u_mean_init": -69.0,
        "lgn.EL": -70.0, "lgn.VTrest": -51.0, "lgn.taux": 12.0, "lgn.g_init": -70.2,
        "rules.theta_ltd": -69.0, "rules.theta_ltp": -47.0, "rules.vogels_tau": 8.0, "rules.vogels_w_max": 0.6,
        "l4.LGN_E.urefsquare": 55.0, "l4.LGN_E.aLTD": 0.00014 * 0.6 * 1.5, "l4.LGN_E.aLTP": 0.00018 * 0.6 * 1.25,
        "l4.LGN_E.wMax": 4.0, "l4.I_E.aPlus": 5e-6, "l4.I_E.Offset": 0.4,
    },
}


def variant(name: str) -> Model:
    """The model of the named variant; an unknown name is a one-line ``ModelError``."""
    if name not in VARIANTS:
        raise ModelError(f"unknown model variant {name!r} (known: {', '.join(VARIANTS)})")
    return PUBLISHED.with_overrides(VARIANTS[name], source=f"variant {name}:")
