"""The complete model as data: what every run records in ``run.json``.

``describe(layer)`` returns the layer's populations, neuron definitions (parameters
and equations as ANNarchy receives them), learning rules (literal equations and
parameters per projection), projections, training schedule and the model value it
was made from (``models.parameters.Model.record()``). The run record stores it;
``--resume`` rebuilds the model from the value. Pure Python: ANNarchy is not imported.
"""
from __future__ import annotations

import dataclasses
import json

from models.layers import LayerSpec
from models.neurons import adex, lgn_relay
from rules import ClopathParams, VogelsParams, clopath, vogels

_RULES = {ClopathParams: ("Clopath", clopath), VogelsParams: ("Vogels", vogels)}


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
    m = layer.model
    geometry = [m.input.patch_size, m.input.patch_size, 2]
    relay, cell = lgn_relay(m), adex(m)
    description = {
        "populations": {"P": {"geometry": geometry, "neuron": "Poisson", "max_rate_hz": m.input.max_rate},
                        "LGN": {"geometry": geometry, "neuron": relay.name, "input_weight": m.lgn.input_weight},
                        **{pop: {"geometry": [size], "neuron": cell.name} for pop, size in layer.populations.items()}},
        "neurons": {model.name: model.record() for model in (relay, cell)},
        "rules": rules,
        "projections": [_projection(s) for s in layer.projections],
        "schedule": {"presentation_ms": m.input.presentation_ms, "dt_ms": m.dt,
                     "onoff_balanced": list(layer.onoff_balanced), "normalize_every": layer.normalize_every,
                     "normalize_ms": m.training.normalize_ms, "rate_window": m.training.rate_window,
                     "snapshots": m.training.n_snapshots,
                     "frozen_from": layer.frozen_from.name if layer.frozen_from else None},
        "hash": m.hash(),
        "value": m.record(),
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
