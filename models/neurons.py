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
before it is counted down). Integration: explicit Euler with dt = 1 ms.
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


def _lgn_relay() -> NeuronModel:
    p = P.LGN_PARAMETERS
    return NeuronModel(
        name="LGN relay",
        parameters=dict(p),
        equations=f"""
        dg_exc/dt = EL/{P.LGN_DRIFT_MS!r} : min=EL, init={P.LGN_G_INIT!r}
        Spike = if state == 1: 1.0 else: 0.0
        dxtrace/dt = if state == 1: 1/taux else: -xtrace/taux : init=0.0
        state = if state > 0: -1 else: 0
        """,
        spike="g_exc > VTrest",
        reset="""
        g_exc = EL
        state = 1
        """,
        description="Relays each Poisson spike one step later; provides Spike and xtrace.",
    )


def _adex() -> NeuronModel:
    p = P.ADEX_PARAMETERS
    spike_state = P.SPIKE_STATE
    # Subthreshold (state 0): the AdEx equation; state 1: the end of the spike; state >= 2: the upstroke.
    dvm = (f"if state >= {spike_state}: {P.SPIKE_UPSTROKE!r} "
           f"else: if state == 1: -(vm + {-P.SPIKE_DOWNSTROKE_TO!r}) + (Isp - (wad + b))/C + g_Exc - g_Inh "
           f"else: (-gL*(vm - EL) + gL*DeltaT*exp((vm - VT)/DeltaT) - wad + z)/C + g_Exc - g_Inh")
    return NeuronModel(
        name="AdEx (Clopath 2010)",
        parameters=dict(p),
        equations=f"""
        dvm/dt = {dvm} : init={p['EL']!r}
        dvmean/dt = (pos(vm - EL)^2 - vmean)/taumean : init=0.0
        dumeanLTD/dt = (vm - umeanLTD)/tauLTD : init={P.U_MEAN_INIT!r}
        dumeanLTP/dt = (vm - umeanLTP)/tauLTP : init={P.U_MEAN_INIT!r}
        dxtrace/dt = if state == 1: 1/taux else: -xtrace/taux : init=0.0
        dwad/dt = if state == {spike_state}: 0.0 else: if state == 1: b/tauw else: (a*(vm - EL) - wad)/tauw : init=0.0
        dz/dt = if state == 1: -z + Isp - {P.Z_JUMP_OFFSET!r} else: -z/tauz : init=0.0
        dVT/dt = if state == 1: (VTMax - VT) - {P.VT_JUMP_OFFSET!r} else: (VTrest - VT)/tauVT : init={p['VTrest']!r}
        dg_Exc/dt = -g_Exc/tau_gExc
        dg_Inh/dt = -g_Inh/tau_gInh
        Spike = if state == 1: 1.0 else: 0.0
        state = if state > 0: state - 1 else: 0
        """,
        spike="(vm > VT) and (state == 0)",
        reset=f"""
        vm = {P.SPIKE_PEAK!r}
        state = {spike_state}
        VT = VTMax
        """,
        description="Adaptive exponential neuron with spike after-potential and adaptive threshold.",
    )


LGN_RELAY = _lgn_relay()
ADEX = _adex()
