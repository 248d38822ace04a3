"""Neuron types of the V1 model (docs/model.md §2), generated from a model value.

Teichmann, Larisch & Hamker (2021), Neural Networks 144:210-228; Larisch et al.
(2021), PLOS Comput Biol 17(11):e1009566; the adaptive exponential neuron follows
Clopath et al. (2010), Nat Neurosci 13:344.

Each type is a ``NeuronModel``: the ANNarchy definition as plain text (parameters,
equations, spike condition, reset), written from the numbers of a model value
(``models.parameters.Model``: ``lgn_relay(model)``, ``adex(model)``), and recorded as it
is in every run's ``run.json``. ``NeuronModel.annarchy()`` turns it into an
``ANNarchy.Neuron`` (ANNarchy is imported only then).

The equations are written exactly as the specification states them; the order of
the lines matters (ANNarchy evaluates them top to bottom: ``Spike`` reads ``state``
before it is counted down). Integration: explicit Euler with step model.dt; the spike's
jumps are written so that they do not depend on the step (docs/model.md §2).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache

from models.parameters import Model


@dataclass(frozen=True)
class NeuronModel:
    """An ANNarchy neuron definition as text."""
    name: str
    parameters: dict            # name -> value, one value per population
    equations: str
    spike: str
    reset: str
    description: str = ""
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def record(self) -> dict:
        """The definition as ``run.json`` stores it."""
        return {"name": self.name, "parameters": dict(self.parameters), "equations": self.equations,
                "spike": self.spike, "reset": self.reset}

    def annarchy(self):
        """The ``ANNarchy.Neuron`` of this definition (made once)."""
        if "neuron" not in self._cache:
            import ANNarchy as ann
            self._cache["neuron"] = ann.Neuron(
                parameters="\n".join(f"{k} = {v!r} : population" for k, v in self.parameters.items()),
                equations=self.equations, spike=self.spike, reset=self.reset, name=self.name,
                description=self.description)
        return self._cache["neuron"]


def _per_step(jump: str, dt: float) -> str:
    """A jump written as a derivative: Euler's ``x += dt * (jump / dt)`` adds *jump* in one step
    whatever dt. At dt = 1 ms it is the published line itself."""
    return jump if dt == 1.0 else f"({jump})/dt"


@lru_cache(maxsize=None)
def lgn_relay(model: Model) -> NeuronModel:
    """The LGN relay cell; its ``Spike`` is 1 for lgn.spike_ms after each spike."""
    p = model.lgn
    on = model.steps(p.spike_ms, "lgn.spike_ms")          # steps with Spike = 1
    spiking = "state == 1" if on == 1 else f"state >= 1"
    count_down = "if state > 0: -1 else: 0" if on == 1 else "if state > 1: state - 1 else: if state > 0: -1 else: 0"
    return NeuronModel(
        name="LGN relay",
        parameters=p.parameters(),
        equations=f"""
        dg_exc/dt = EL/{p.drift_ms!r} : min=EL, init={p.g_init!r}
        Spike = if {spiking}: 1.0 else: 0.0
        dxtrace/dt = if {spiking}: 1/taux else: -xtrace/taux : init=0.0
        state = {count_down}
        """,
        spike="g_exc > VTrest",
        reset=f"""
        g_exc = EL
        state = {on}
        """,
        description="Relays each Poisson spike one step later; provides Spike and xtrace.",
    )


@lru_cache(maxsize=None)
def adex(model: Model) -> NeuronModel:
    """The AdEx cell with its 2-ms spike, written for integration step *dt*.

    ``state`` counts the spike's steps down: upstroke while state > d, downstroke while
    1 <= state <= d (d steps of adex.downstroke_ms), and the jumps of the downstroke
    happen on its first step (state == d): vm to SPIKE_DOWNSTROKE_TO, and z and VT are held
    at their jump values for the rest of the downstroke. The rates of the downstroke (vm's
    currents, xtrace's 1/taux, wad's b/tauw) add up over its SPIKE_DOWNSTROKE_MS.
    """
    p, dt = model.adex, model.dt
    d = model.steps(p.downstroke_ms, "adex.downstroke_ms")
    length = model.steps(p.upstroke_ms, "adex.upstroke_ms") + d
    upstroke = f"state > {d}"
    first_down = f"state == {d}"
    down = "state == 1" if d == 1 else f"(state >= 1) and (state <= {d})"
    currents = "(Isp - (wad + b))/C + g_Exc - g_Inh"
    subthreshold = "(-gL*(vm - EL) + gL*DeltaT*exp((vm - VT)/DeltaT) - wad + z)/C + g_Exc - g_Inh"
    dvm = (f"if {upstroke}: {p.spike_upstroke!r} "
           f"else: if {first_down}: {_per_step(f'-(vm + {-p.spike_downstroke_to!r})', dt)} + {currents} "
           + (f"else: if {down}: {currents} " if d > 1 else "")
           + f"else: {subthreshold}")
    return NeuronModel(
        name="AdEx (Clopath 2010)",
        parameters=p.parameters(),
        equations=f"""
        dvm/dt = {dvm} : init={p.EL!r}
        dvmean/dt = (pos(vm - EL)^2 - vmean)/taumean : init=0.0
        dumeanLTD/dt = (vm - umeanLTD)/tauLTD : init={p.u_mean_init!r}
        dumeanLTP/dt = (vm - umeanLTP)/tauLTP : init={p.u_mean_init!r}
        dxtrace/dt = if {down}: 1/taux else: -xtrace/taux : init=0.0
        dwad/dt = if {upstroke}: 0.0 else: if {down}: b/tauw else: (a*(vm - EL) - wad)/tauw : init=0.0
        dz/dt = if {down}: {_per_step(f'-z + Isp - {p.z_jump_offset!r}', dt)} else: -z/tauz : init=0.0
        dVT/dt = if {down}: {_per_step(f'(VTMax - VT) - {p.vt_jump_offset!r}', dt)} else: (VTrest - VT)/tauVT : init={p.VTrest!r}
        dg_Exc/dt = -g_Exc/tau_gExc
        dg_Inh/dt = -g_Inh/tau_gInh
        Spike = if {down}: 1.0 else: 0.0
        state = if state > 0: state - 1 else: 0
        """,
        spike="(vm > VT) and (state == 0)",
        reset=f"""
        vm = {p.spike_peak!r}
        state = {length}
        VT = VTMax
        """,
        description="Adaptive exponential neuron with spike after-potential and adaptive threshold.",
    )



# The variables only the learning rules read (docs/model.md §3): the Clopath rule's
# postsynaptic averages and presynaptic trace and spike. A network in which nothing learns
# (a frozen snapshot: analysis, evaluation) needs none of them.
LEARNING_VARIABLES = ("vmean", "umeanLTD", "umeanLTP", "xtrace", "Spike")
_DEFINED = re.compile(r"^\s*(?:d(?P<ode>\w+)/dt|(?P<var>\w+))\s*=")


def without_learning_variables(neuron: NeuronModel) -> NeuronModel:
    """*neuron* without the equations of LEARNING_VARIABLES: the same spikes, less work.

    Nothing else in the definition may read them (checked: a ValueError names the line), so
    every other variable, and with it every spike, is computed exactly as before
    (``tests/test_presentations.py`` compares the spike counts of both forms).
    """
    kept, dropped = [], []
    for line in neuron.equations.splitlines():
        m = _DEFINED.match(line)
        name = m and (m["ode"] or m["var"])
        (dropped if name in LEARNING_VARIABLES else kept).append(line)
    rest = "\n".join(kept + [neuron.spike, neuron.reset])
    for name in LEARNING_VARIABLES:
        if re.search(rf"\b{name}\b", rest):
            raise ValueError(f"{neuron.name}: {name} is read outside the learning rules; "
                             "it cannot be left out of a network that does not learn")
    return replace(neuron, name=f"{neuron.name}, frozen", equations="\n".join(kept),
                   description=f"{neuron.description} Without the variables of the learning rules.",
                   _cache={})
