"""The complete model as data: what every run records in ``run.json``.

``describe(layer)`` returns the layer's populations, neuron definitions (parameters
and equations as ANNarchy receives them), learning rules (literal equations and
parameters per projection), projections, training schedule and every constant of
``models.parameters``. The run record stores it, and ``--resume`` compares it with
the current model key by key. Pure Python: ANNarchy is not imported.
"""
from __future__ import annotations

import dataclasses
import json

from models import parameters as P
from models.layers import LayerSpec
from models.neurons import ADEX, LGN_RELAY
from rules import ClopathParams, VogelsParams, clopath, vogels

_RULES = {ClopathParams: ("Clopath", clopath), VogelsParams: ("Vogels", vogels)}


def _constants() -> dict:
    """Every upper-case number, string or table of ``models.parameters``."""
    out = {}
    for name, value in vars(P).items():
        if not name.isupper():
            continue
        if isinstance(value, (bool, int, float, str)):
            out[name] = value
        elif isinstance(value, dict) and all(isinstance(v, (int, float, str, tuple)) for v in value.values()):
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
    return out


def _projection(spec) -> dict:
    record = dataclasses.asdict(spec)
    record["rule_type"] = _RULES[type(spec.rule)][0] if spec.rule is not None else "static"
    return record


def describe(layer: LayerSpec) -> dict:
    """The model of *layer* as plain data (JSON-ready)."""
    rule_types = {type(s.rule) for s in layer.projections if s.rule is not None}
    rules = {}
    for rule_type in sorted(rule_types, key=lambda t: _RULES[t][0]):
        name, module = _RULES[rule_type]
        rules[name] = {k.lower(): getattr(module, k) for k in ("LITERAL_EQUATIONS", "PRE_SPIKE", "POST_SPIKE")
                       if hasattr(module, k)}
    geometry = [P.PATCH_SIZE, P.PATCH_SIZE, 2]
    description = {
        "populations": {"P": {"geometry": geometry, "neuron": "Poisson", "max_rate_hz": P.MAX_RATE},
                        "LGN": {"geometry": geometry, "neuron": LGN_RELAY.name, "input_weight": P.LGN_WEIGHT},
                        **{pop: {"geometry": [size], "neuron": ADEX.name} for pop, size in layer.populations.items()}},
        "neurons": {model.name: model.record() for model in (LGN_RELAY, ADEX)},
        "rules": rules,
        "projections": [_projection(s) for s in layer.projections],
        "schedule": {"presentation_ms": P.PRESENTATION_MS, "dt_ms": P.DT,
                     "onoff_balanced": list(layer.onoff_balanced), "normalize_every": layer.normalize_every,
                     "rate_window": P.RATE_WINDOW, "snapshots": P.N_SNAPSHOTS,
                     "frozen_from": layer.frozen_from.name if layer.frozen_from else None},
        "whitening": dataclasses.asdict(P.WHITENING),
        "constants": _constants(),
    }
    return json.loads(json.dumps(description))     # plain JSON types, as run.json holds them


def flatten(tree, prefix: str = "") -> dict:
    """Nested dicts and lists as {"a.b.c": leaf}; lists of named records are keyed by name."""
    out = {}
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    elif isinstance(tree, list) and tree and all(isinstance(x, dict) and "name" in x for x in tree):
        for item in tree:
            out.update(flatten(item, f"{prefix}{item['name']}."))
    else:
        out[prefix[:-1]] = tree
    return out


def differences(recorded: dict, current: dict) -> list[str]:
    """Dotted keys whose values differ between two descriptions (JSON-normalised)."""
    old, new = flatten(recorded), flatten(current)
    return [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
