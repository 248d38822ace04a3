"""Neuron types of the V1 model (docs/model.md §2), generated from ``models.parameters``.

Teichmann, Larisch & Hamker (2021), Neural Networks 144:210-228; Larisch et al.
(2021), PLOS Comput Biol 17(11):e1009566; the adaptive exponential neuron follows
Clopath et al. (2010), Nat Neurosci 13:344.

Each type is a ``NeuronModel``: the ANNarchy definition as plain text (parameters,
equations, spike condition, reset), written from the constants of
``models.parameters`` so that an edit there reaches the equations, and recorded
as it is in every run's ``run.json``. ``NeuronModel.annarchy()`` turns it into an
``ANNarchy.Neuron`` (ANNarchy is imported only then).

The equations are written exactly as the specification states them; the order of
the lines matters (ANNarchy evaluates them top to bottom: ``Spike`` reads ``state``
before it is counted down). Integration: explicit Euler with step DT; the spike's
jumps are written so that they do not depend on the step (docs/model.md §2).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from models import parameters as P


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


def lgn_relay(dt: float = P.DT) -> NeuronModel:
    """The LGN relay cell; its ``Spike`` is 1 for LGN_SPIKE_MS after each spike."""
    p = P.LGN_PARAMETERS
    on = P.steps(P.LGN_SPIKE_MS, dt)          # steps with Spike = 1
    spiking = "state == 1" if on == 1 else f"state >= 1"
    count_down = "if state > 0: -1 else: 0" if on == 1 else "if state > 1: state - 1 else: if state > 0: -1 else: 0"
    return NeuronModel(
        name="LGN relay",
        parameters=dict(p),
        equations=f"""
        dg_exc/dt = EL/{P.LGN_DRIFT_MS!r} : min=EL, init={P.LGN_G_INIT!r}
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


def adex(dt: float = P.DT) -> NeuronModel:
    """The AdEx cell with its 2-ms spike, written for integration step *dt*.

    ``state`` counts the spike's steps down: upstroke while state > d, downstroke while
    1 <= state <= d (d steps of SPIKE_DOWNSTROKE_MS), and the jumps of the downstroke
    happen on its first step (state == d): vm to SPIKE_DOWNSTROKE_TO, and z and VT are held
    at their jump values for the rest of the downstroke. The rates of the downstroke (vm's
    currents, xtrace's 1/taux, wad's b/tauw) add up over its SPIKE_DOWNSTROKE_MS.
    """
    p = P.ADEX_PARAMETERS
    d = P.steps(P.SPIKE_DOWNSTROKE_MS, dt)
    length = P.steps(P.SPIKE_UPSTROKE_MS, dt) + d
    upstroke = f"state > {d}"
    first_down = f"state == {d}"
    down = "state == 1" if d == 1 else f"(state >= 1) and (state <= {d})"
    currents = "(Isp - (wad + b))/C + g_Exc - g_Inh"
    subthreshold = "(-gL*(vm - EL) + gL*DeltaT*exp((vm - VT)/DeltaT) - wad + z)/C + g_Exc - g_Inh"
    dvm = (f"if {upstroke}: {P.SPIKE_UPSTROKE!r} "
           f"else: if {first_down}: {_per_step(f'-(vm + {-P.SPIKE_DOWNSTROKE_TO!r})', dt)} + {currents} "
           + (f"else: if {down}: {currents} " if d > 1 else "")
           + f"else: {subthreshold}")
    return NeuronModel(
        name="AdEx (Clopath 2010)",
        parameters=dict(p),
        equations=f"""
        dvm/dt = {dvm} : init={p['EL']!r}
        dvmean/dt = (pos(vm - EL)^2 - vmean)/taumean : init=0.0
        dumeanLTD/dt = (vm - umeanLTD)/tauLTD : init={P.U_MEAN_INIT!r}
        dumeanLTP/dt = (vm - umeanLTP)/tauLTP : init={P.U_MEAN_INIT!r}
        dxtrace/dt = if {down}: 1/taux else: -xtrace/taux : init=0.0
        dwad/dt = if {upstroke}: 0.0 else: if {down}: b/tauw else: (a*(vm - EL) - wad)/tauw : init=0.0
        dz/dt = if {down}: {_per_step(f'-z + Isp - {P.Z_JUMP_OFFSET!r}', dt)} else: -z/tauz : init=0.0
        dVT/dt = if {down}: {_per_step(f'(VTMax - VT) - {P.VT_JUMP_OFFSET!r}', dt)} else: (VTrest - VT)/tauVT : init={p['VTrest']!r}
        dg_Exc/dt = -g_Exc/tau_gExc
        dg_Inh/dt = -g_Inh/tau_gInh
        Spike = if {down}: 1.0 else: 0.0
        state = if state > 0: state - 1 else: 0
        """,
        spike="(vm > VT) and (state == 0)",
        reset=f"""
        vm = {P.SPIKE_PEAK!r}
        state = {length}
        VT = VTMax
        """,
        description="Adaptive exponential neuron with spike after-potential and adaptive threshold.",
    )


LGN_RELAY = lgn_relay()
ADEX = adex()
