"""The model as one value: every number of the layer-4 and layer-2/3 model, validated.

``PUBLISHED`` is the published model (docs/model.md; Teichmann, Larisch & Hamker 2021,
Neural Networks 144:210-228; Larisch et al. 2021, PLOS Comput Biol 17:e1009566; the
neuron after Clopath et al. 2010, Nat Neurosci 13:344). A variant is another value of the
same type, made from it with ``PUBLISHED.with_overrides({"adex.gL": 35})`` (what
``--set adex.gL=35`` and ``--params variant.toml`` do) or taken from ``models.variants``;
nothing is edited in the source. Every builder (neurons, layers, network, input sampler,
health check, evaluation protocol, analysis) takes the model as an argument, every run
records it in ``run.json`` and ``--resume`` rebuilds it from there.

A value is checked when it is made (``Model.__post_init__``): a number out of its range, or
a coupling that cannot hold (a step that does not divide the spike or a presentation, a
balance interval that is not whole presentations, bounds in the wrong order), raises a
``ModelError`` whose message is one line naming the field and the reason.

Units: time in ms, voltage in mV, current in pA, capacitance in pF, conductance in nS,
rates in Hz. The conductances g_Exc and g_Inh are in mV/ms: a presynaptic spike adds its
weight to them and they add directly to dvm/dt.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field, fields, replace

from input.images import Whitening
from rules import ClopathParams, VogelsParams


class ModelError(ValueError):
    """An invalid model value or override: one line naming the field and the reason."""


# --- 1. input (docs/model.md §1) -----------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    patch_size: int = 18            # pixels; input geometry (patch_size, patch_size, 2) ON/OFF
    max_rate: float = 100.0         # Hz, Poisson rate of the largest ON/OFF value of an image
    presentation_ms: float = 125.0  # ms per patch, no pause, no reset between patches
    flip_probability: float = 0.5   # each patch flipped left-right, and independently up-down, with this p
    # Olshausen & Field's whitening of photographs (a folder of training images, the stand-in,
    # the evaluation's data sets): filter f*exp(-(f/f0)^4), f0 = whitening_f0 * N; then this variance.
    whitening_f0: float = 0.4
    whitening_variance: float = 0.1

    @property
    def whitening(self) -> Whitening:
        return Whitening(f0_fraction=self.whitening_f0, variance=self.whitening_variance)


# --- 2. neurons (docs/model.md §2) ---------------------------------------------------------------
@dataclass(frozen=True)
class LGN:
    """The relay: one LGN spike per Poisson spike, and the Clopath rule's Spike and xtrace."""
    EL: float = -70.4               # mV, floor of the integrating variable g_exc (and its reset)
    VTrest: float = -50.4           # mV, spike threshold of g_exc
    taux: float = 15.0              # ms, presynaptic trace time constant
    drift_ms: float = 1000.0        # ms; g_exc drifts by EL/drift_ms per ms towards its floor EL
    g_init: float = -70.6           # mV, initial g_exc
    input_weight: float = 30.0      # Poisson -> LGN one-to-one weight: one LGN spike per Poisson spike
    spike_ms: float = 1.0           # ms during which Spike = 1 after a relay spike

    def parameters(self) -> dict:
        """The ANNarchy parameters of the neuron, in their order."""
        return dict(EL=self.EL, VTrest=self.VTrest, taux=self.taux)


@dataclass(frozen=True)
class AdEx:
    """Adaptive exponential neuron (Clopath et al. 2010), every E and I cell."""
    C: float = 281.0                # pF, membrane capacitance
    gL: float = 30.0                # nS, leak conductance
    EL: float = -70.6               # mV, leak reversal potential
    DeltaT: float = 2.0             # mV, slope factor of the exponential
    tauw: float = 144.0             # ms, adaptation time constant
    a: float = 4.0                  # nS, subthreshold adaptation
    b: float = 0.0805               # pA, spike-triggered adaptation
    Isp: float = 400.0              # pA, depolarising spike after-potential current
    tauz: float = 40.0              # ms, decay of the after-potential current z
    VTrest: float = -50.4           # mV, resting adaptive threshold
    VTMax: float = -30.4            # mV, threshold right after a spike
    tauVT: float = 50.0             # ms, threshold relaxation
    taux: float = 15.0              # ms, presynaptic trace (this cell as a presynaptic partner)
    tauLTD: float = 10.0            # ms, low-pass filter u- of vm (Clopath LTD)
    tauLTP: float = 7.0             # ms, low-pass filter u+ of vm (Clopath LTP)
    taumean: float = 750.0          # ms, homeostatic mean of the squared depolarisation
    tau_gExc: float = 1.0           # ms, excitatory conductance decay
    tau_gInh: float = 10.0          # ms, inhibitory conductance decay
    # The 2-ms spike: at a spike vm = spike_peak and `state` = the spike's length in steps,
    # counting down. Upstroke (upstroke_ms): vm rises by spike_upstroke per ms. First step of
    # the downstroke (downstroke_ms): vm jumps to spike_downstroke_to (plus the currents), z to
    # Isp - z_jump_offset, VT to VTMax - vt_jump_offset; Spike = 1 during the downstroke.
    spike_peak: float = 29.0        # mV
    spike_upstroke: float = 3.462   # mV/ms
    spike_downstroke_to: float = -51.75  # mV
    z_jump_offset: float = 10.0     # pA
    vt_jump_offset: float = 0.4     # mV
    upstroke_ms: float = 1.0        # ms
    downstroke_ms: float = 1.0      # ms
    u_mean_init: float = -70.0      # mV, initial umeanLTD and umeanLTP (vm starts at EL, VT at VTrest)

    PARAMETERS = ("C", "gL", "EL", "DeltaT", "tauw", "a", "b", "Isp", "tauz", "VTrest", "VTMax", "tauVT",
                  "taux", "tauLTD", "tauLTP", "taumean", "tau_gExc", "tau_gInh")

    def parameters(self) -> dict:
        """The ANNarchy parameters of the neuron, in their order."""
        return {name: getattr(self, name) for name in self.PARAMETERS}


# --- 3. learning rules (docs/model.md §3) --------------------------------------------------------
@dataclass(frozen=True)
class Rules:
    theta_ltd: float = -70.6        # mV, Clopath threshold of umeanLTD / umeanLTP (all projections)
    theta_ltp: float = -45.3        # mV, Clopath threshold of vm for LTP (all projections)
    clopath_w_min: float = 0.0      # LTD is off at w <= wMin (all Clopath projections)
    vogels_tau: float = 10.0        # ms, Vogels tracePre / tracePost time constant (taupre)
    vogels_w_min: float = 0.0       # Vogels weight bounds [hMin, hMax]
    vogels_w_max: float = 0.5


@dataclass(frozen=True)
class Clopath:
    """A plastic excitatory projection (urefsquare mV^2, aLTD 1/(ms mV), aLTP 1/(ms mV^2))."""
    urefsquare: float
    aLTD: float
    aLTP: float
    wMax: float
    w_init: tuple                   # (low, high) of a uniform draw; equal values = constant
    delay: tuple | None = None      # (low, high) ms of a uniform draw (rounded to dt), or None


@dataclass(frozen=True)
class Vogels:
    """A plastic inhibitory projection (aPlus per event, Offset in trace units)."""
    aPlus: float
    Offset: float
    w_init: tuple
    delay: tuple | None = None


# --- 4. layer 4 (docs/model.md §4) ---------------------------------------------------------------
@dataclass(frozen=True)
class Layer4:
    LGN_E: Clopath = Clopath(60.0, 0.00014 * 0.6, 0.00018 * 0.6, 5.0, (0.025, 1.0))
    LGN_I: Clopath = Clopath(55.0, 0.00014 * 0.3, 0.00018 * 0.3, 3.0, (0.0, 0.1))
    E_I: Clopath = Clopath(55.0, 0.000012 * 0.03, 0.000015 * 0.03, 0.7, (0.0, 0.1))
    I_E: Vogels = Vogels(4e-6, 0.35, (0.0, 0.0))
    I_I: Vogels = Vogels(4e-6, 0.45, (0.0, 0.0))


# --- 5. layer 2/3 (docs/model.md §5) -------------------------------------------------------------
@dataclass(frozen=True)
class Layer23:
    E_E2: Clopath = Clopath(50.0, 0.00012 * 0.625, 0.00014 * 0.625, 3.25, (0.20, 1.25), delay=(1.0, 3.0))
    E2_I2: Clopath = Clopath(50.0, 0.000014 * 0.4, 0.000018 * 0.4, 1.0, (0.01, 0.5), delay=(1.0, 3.0))
    E_I2: Clopath = Clopath(45.0, 0.00012 * 0.4, 0.00015 * 0.4, 1.0, (0.01, 0.1))
    I2_E2: Vogels = Vogels(8e-6, 0.50, (0.1, 0.3))
    I2_I2: Vogels = Vogels(4e-6, 0.60, (0.05, 0.13))


@dataclass(frozen=True)
class Sizes:
    n_exc: int = 324                # layer-4 excitatory cells
    n_inh: int = 81                 # layer-4 inhibitory cells
    n_exc2: int = 324               # layer-2/3 excitatory cells
    n_inh2: int = 81                # layer-2/3 inhibitory cells


@dataclass(frozen=True)
class Training:
    n_patches: int = 400_000        # patches per training run (50,000 s of model time)
    normalize_ms: float = 20_000.0  # ms of model time between ON/OFF balances (layer 4 only)
    n_snapshots: int = 20           # snapshots at every 1/n_snapshots of the run (plus patch 0 and the end)
    rate_window: int = 100          # patches per firing-rate window in frExc.npy / frInh.npy


@dataclass(frozen=True)
class Health:
    """The early-failure check of layer 4 (docs/model.md §4), from the package's seed study."""
    field_fraction: float = 0.5     # a cell has a field when its largest LGN weight >= field_fraction * wMax
    check_patch: int = 2000         # patches presented when the check runs
    fail_fraction: float = 0.15     # failing: more E cells than this without a field
    partial_fraction: float = 0.05  # partial loss: more than this (seed study: 1 of 100 seeds, 8.6 %)
    rate_from_patch: int = 100      # the reported I rate is the mean from this patch to the check


@dataclass(frozen=True)
class Analysis:
    responsive_hz: float = 16.0     # a cell responds to a stimulus set when its best rate is at least this


# Who connects to whom: fixed by the model's structure, not a number to vary.
#          name: (pre, post, target, self-connections)
WIRING = {
    "LGN_E": ("LGN", "E", "Exc", True), "LGN_I": ("LGN", "I", "Exc", True), "E_I": ("E", "I", "Exc", True),
    "I_E": ("I", "E", "Inh", True), "I_I": ("I", "I", "Inh", False),
    "E_E2": ("E", "E2", "Exc", True), "E2_I2": ("E2", "I2", "Exc", True), "E_I2": ("E", "I2", "Exc", True),
    "I2_E2": ("I2", "E2", "Inh", True), "I2_I2": ("I2", "I2", "Inh", False),
}


@dataclass(frozen=True)
class ProjectionSpec:
    """One projection as the network builder needs it: who to whom, which rule, initial weights, delays."""
    name: str
    pre: str
    post: str
    target: str                      # "Exc" or "Inh"
    rule: ClopathParams | VogelsParams | None   # None: static synapses
    w_init: tuple                    # (low, high) of a uniform draw; equal values = constant
    delay: tuple | None = None       # (low, high) ms of a uniform draw (rounded to dt), or None
    self_connections: bool = True


@dataclass(frozen=True)
class Model:
    dt: float = 1.0                 # ms, integration step (explicit Euler); must divide every duration
    input: Input = field(default_factory=Input)
    lgn: LGN = field(default_factory=LGN)
    adex: AdEx = field(default_factory=AdEx)
    rules: Rules = field(default_factory=Rules)
    sizes: Sizes = field(default_factory=Sizes)
    l4: Layer4 = field(default_factory=Layer4)
    l23: Layer23 = field(default_factory=Layer23)
    training: Training = field(default_factory=Training)
    health: Health = field(default_factory=Health)
    analysis: Analysis = field(default_factory=Analysis)

    def __post_init__(self):
        _validate(self)

    # -- derived numbers ------------------------------------------------------------------
    def steps(self, duration_ms: float, what: str) -> int:
        """*duration_ms* in integration steps (a whole number, checked at construction)."""
        n = round(duration_ms / self.dt)
        if n < 1 or abs(n * self.dt - duration_ms) > 1e-9 * max(1.0, duration_ms):
            raise ModelError(f"dt = {self.dt:g} ms does not divide {what} = {duration_ms:g} ms into whole steps")
        return n

    @property
    def steps_per_patch(self) -> int:
        return self.steps(self.input.presentation_ms, "input.presentation_ms")

    @property
    def normalize_every(self) -> int:
        """Patches between ON/OFF balances: training.normalize_ms of model time."""
        n = round(self.training.normalize_ms / self.input.presentation_ms)
        if n < 1 or abs(n * self.input.presentation_ms - self.training.normalize_ms) > 1e-9 * self.training.normalize_ms:
            raise ModelError(f"training.normalize_ms = {self.training.normalize_ms:g} ms is not a whole number of "
                             f"{self.input.presentation_ms:g}-ms presentations")
        return n

    @property
    def n_lgn(self) -> int:
        return self.input.patch_size * self.input.patch_size * 2

    @property
    def population_sizes(self) -> dict:
        s = self.sizes
        return {"LGN": self.n_lgn, "E": s.n_exc, "I": s.n_inh, "E2": s.n_exc2, "I2": s.n_inh2}

    def clopath(self, p: Clopath) -> ClopathParams:
        r = self.rules
        return ClopathParams(urefsquare=p.urefsquare, aLTD=p.aLTD, aLTP=p.aLTP, wMin=r.clopath_w_min, wMax=p.wMax,
                             thetaLTD=r.theta_ltd, thetaLTP=r.theta_ltp)

    def vogels(self, p: Vogels) -> VogelsParams:
        r = self.rules
        return VogelsParams(aPlus=p.aPlus, Offset=p.Offset, taupre=r.vogels_tau, hMin=r.vogels_w_min,
                            hMax=r.vogels_w_max)

    def projections(self, layer: str) -> tuple:
        """The ``ProjectionSpec``s of layer "L4" or "L2_3" (its own, plastic)."""
        section = self.l4 if layer == "L4" else self.l23
        specs = []
        for f in fields(section):
            p = getattr(section, f.name)
            pre, post, target, self_connections = WIRING[f.name]
            rule = self.clopath(p) if isinstance(p, Clopath) else self.vogels(p)
            specs.append(ProjectionSpec(f.name, pre, post, target, rule, tuple(p.w_init),
                                        None if p.delay is None else tuple(p.delay), self_connections))
        return tuple(specs)

    def projection_shape(self, spec: ProjectionSpec) -> tuple[int, int]:
        """(n_post, n_pre) of a weight file; one column fewer without self-connections."""
        sizes = self.population_sizes
        n_post, n_pre = sizes[spec.post], sizes[spec.pre]
        if not spec.self_connections and spec.pre == spec.post:
            n_pre -= 1
        return n_post, n_pre

    # -- as data ------------------------------------------------------------------------------
    def record(self) -> dict:
        """The value as plain JSON data (``run.json`` stores it under ``model_value``)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def hash(self) -> str:
        """A short content hash of the value (build folders are keyed by it)."""
        text = json.dumps(self.record(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @classmethod
    def from_record(cls, record: dict) -> "Model":
        """The value of ``record()`` (e.g. from ``run.json``); unknown or missing keys are refused."""
        return PUBLISHED.with_overrides(flatten(record), source="run.json")

    def with_overrides(self, overrides: dict, source: str = "--set") -> "Model":
        """This value with dotted keys replaced (``{"adex.gL": 35, "sizes.n_exc": "400"}``).

        Values may be strings (as on the command line): they are converted to the field's
        type. An unknown key, a value of the wrong type or an invalid result raises a
        one-line ``ModelError``.
        """
        model = self
        for key, value in overrides.items():
            model = _replace_path(model, key.split("."), value, key, source)
        return model

    def differences(self, other: "Model") -> dict:
        """Dotted key -> (self's value, other's value) where the two differ."""
        a, b = flatten(self.record()), flatten(other.record())
        return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}


def flatten(tree: dict, prefix: str = "") -> dict:
    """Nested dicts as {"a.b.c": leaf}."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _convert(value, current, key: str, source: str):
    """*value* (a string from the command line, or a TOML/JSON value) as the type of *current*."""
    if isinstance(value, str) and not isinstance(current, str):
        text = value.strip()
        if text.lower() in ("none", "null") and (current is None or isinstance(current, tuple)):
            return None
        if isinstance(current, tuple) or (current is None and "," in text):
            value = [part for part in text.strip("()[]").split(",") if part.strip()]
        else:
            value = text
    try:
        if isinstance(current, bool):
            raise TypeError
        if isinstance(current, int):
            number = float(value)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, tuple) or current is None:
            if value is None:
                return None
            items = tuple(float(v) for v in value)
            if len(items) != 2:
                raise ValueError
            return items
    except (TypeError, ValueError):
        kind = "a whole number" if isinstance(current, int) else "a number" if isinstance(current, float) else \
            "two numbers low,high"
        raise ModelError(f"{source} {key}={value!r}: expected {kind}") from None
    raise ModelError(f"{source} {key}: not a number of the model")


def _replace_path(obj, path: list, value, key: str, source: str):
    names = {f.name for f in fields(obj)}
    if path[0] not in names:
        where = ".".join(key.split(".")[:-len(path)]) or "the model"
        raise ModelError(f"{source} {key}: {where} has no {path[0]!r} (it has: {', '.join(sorted(names))})")
    current = getattr(obj, path[0])
    if len(path) == 1:
        if dataclasses.is_dataclass(current):
            raise ModelError(f"{source} {key}: a section, not a number (set one of its keys: {key}.<name>)")
        return _rebuild(obj, path[0], _convert(value, current, key, source), key, source)
    if not dataclasses.is_dataclass(current):
        raise ModelError(f"{source} {key}: {path[0]!r} is a number, not a section")
    return _rebuild(obj, path[0], _replace_path(current, path[1:], value, key, source), key, source)


def _rebuild(obj, name, value, key, source):
    try:
        return replace(obj, **{name: value})
    except ModelError as exc:
        raise ModelError(f"{source} {key}: {exc}") from None


# -- validation ----------------------------------------------------------------------------------
def _positive(where: str, **values):
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ModelError(f"{where}.{name} = {v!r}: must be a positive number")


def _finite(where: str, **values):
    for name, v in values.items():
        if not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise ModelError(f"{where}.{name} = {v!r}: must be a finite number")


def _bounds(where: str, pair, low_min: float | None = 0.0):
    if pair is None:
        return
    if len(pair) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in pair) or pair[0] > pair[1]:
        raise ModelError(f"{where} = {pair!r}: must be two finite numbers low <= high")
    if low_min is not None and pair[0] < low_min:
        raise ModelError(f"{where} = {pair!r}: low must be at least {low_min:g}")


def _validate(m: Model) -> None:
    _positive("model", dt=m.dt)
    i = m.input
    _positive("input", patch_size=i.patch_size, max_rate=i.max_rate, presentation_ms=i.presentation_ms,
              whitening_f0=i.whitening_f0, whitening_variance=i.whitening_variance)
    if not isinstance(i.patch_size, int):
        raise ModelError(f"input.patch_size = {i.patch_size!r}: must be a whole number of pixels")
    if not 0.0 <= i.flip_probability <= 1.0:
        raise ModelError(f"input.flip_probability = {i.flip_probability!r}: must be a probability in [0, 1]")
    _positive("lgn", taux=m.lgn.taux, drift_ms=m.lgn.drift_ms, input_weight=m.lgn.input_weight)
    _finite("lgn", EL=m.lgn.EL, VTrest=m.lgn.VTrest, g_init=m.lgn.g_init)
    a = m.adex
    _positive("adex", C=a.C, gL=a.gL, DeltaT=a.DeltaT, tauw=a.tauw, tauz=a.tauz, tauVT=a.tauVT, taux=a.taux,
              tauLTD=a.tauLTD, tauLTP=a.tauLTP, taumean=a.taumean, tau_gExc=a.tau_gExc, tau_gInh=a.tau_gInh)
    _finite("adex", **{f.name: getattr(a, f.name) for f in fields(a)})
    if a.VTMax <= a.VTrest:
        raise ModelError(f"adex.VTMax = {a.VTMax:g}: must be above adex.VTrest = {a.VTrest:g} (the threshold "
                         "jumps up at a spike)")
    # Couplings of the step: every duration a whole number of steps (the spike's jumps are
    # written for any step, docs/model.md §2; a duration between steps has no meaning).
    m.steps(a.upstroke_ms, "adex.upstroke_ms")
    m.steps(a.downstroke_ms, "adex.downstroke_ms")
    m.steps(m.lgn.spike_ms, "lgn.spike_ms")
    m.steps(i.presentation_ms, "input.presentation_ms")
    if m.dt > min(a.tau_gExc, m.lgn.taux, a.taux, a.tauLTP, a.tauLTD, m.rules.vogels_tau):
        raise ModelError(f"dt = {m.dt:g} ms: longer than the shortest time constant (explicit Euler would "
                         "overshoot)")
    r = m.rules
    _finite("rules", theta_ltd=r.theta_ltd, theta_ltp=r.theta_ltp)
    _positive("rules", vogels_tau=r.vogels_tau)
    _bounds("rules.vogels_w_min, vogels_w_max", (r.vogels_w_min, r.vogels_w_max))
    for section, name in (("l4", f.name) for f in fields(Layer4)):
        _check_projection(m, section, name)
    for section, name in (("l23", f.name) for f in fields(Layer23)):
        _check_projection(m, section, name)
    s = m.sizes
    for f in fields(s):
        v = getattr(s, f.name)
        if not (isinstance(v, int) and v >= 2):
            raise ModelError(f"sizes.{f.name} = {v!r}: must be a whole number of at least 2 cells")
    t = m.training
    _positive("training", n_patches=t.n_patches, normalize_ms=t.normalize_ms, n_snapshots=t.n_snapshots,
              rate_window=t.rate_window)
    m.normalize_every
    h = m.health
    if not 0.0 < h.field_fraction <= 1.0:
        raise ModelError(f"health.field_fraction = {h.field_fraction!r}: must be in (0, 1]")
    if not 0.0 <= h.partial_fraction <= h.fail_fraction <= 1.0:
        raise ModelError(f"health.partial_fraction = {h.partial_fraction!r}, fail_fraction = {h.fail_fraction!r}: "
                         "need 0 <= partial <= fail <= 1")
    if not 0 <= h.rate_from_patch < h.check_patch:
        raise ModelError(f"health.rate_from_patch = {h.rate_from_patch!r}: must be below health.check_patch "
                         f"= {h.check_patch!r}")
    _positive("analysis", responsive_hz=m.analysis.responsive_hz)


def _check_projection(m: Model, section: str, name: str) -> None:
    p = getattr(getattr(m, section), name)
    where = f"{section}.{name}"
    _bounds(f"{where}.w_init", p.w_init)
    _bounds(f"{where}.delay", p.delay, low_min=m.dt)
    if isinstance(p, Clopath):
        _positive(where, urefsquare=p.urefsquare, wMax=p.wMax)
        _finite(where, aLTD=p.aLTD, aLTP=p.aLTP)
        if p.aLTD < 0 or p.aLTP < 0:
            raise ModelError(f"{where}: aLTD and aLTP must not be negative")
        if p.wMax <= m.rules.clopath_w_min:
            raise ModelError(f"{where}.wMax = {p.wMax:g}: must be above rules.clopath_w_min = "
                             f"{m.rules.clopath_w_min:g}")
        if p.w_init[1] > p.wMax:
            raise ModelError(f"{where}.w_init = {p.w_init!r}: above wMax = {p.wMax:g}")
    else:
        _finite(where, aPlus=p.aPlus, Offset=p.Offset)
        if p.aPlus < 0:
            raise ModelError(f"{where}.aPlus = {p.aPlus:g}: must not be negative")
        if p.w_init[1] > m.rules.vogels_w_max:
            raise ModelError(f"{where}.w_init = {p.w_init!r}: above rules.vogels_w_max = {m.rules.vogels_w_max:g}")


PUBLISHED = Model()


def read_params(path) -> dict:
    """The overrides of a TOML file (``[adex]`` / ``gL = 35``, ``[l4.LGN_E]`` / ``wMax = 4.0``)
    as dotted keys; an unreadable file is a one-line ``ModelError`` naming it."""
    import tomllib
    from pathlib import Path
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not valid TOML ({exc})") from None
    return flatten(data)


def parse_set(items) -> dict:
    """``["adex.gL=35", ...]`` (the ``--set`` options) as {"adex.gL": "35"}."""
    out = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ModelError(f"--set {item}: expected section.key=value (e.g. adex.gL=35)")
        out[key.strip()] = value.strip()
    return out
