"""Neuron types of the V1 model (MODEL_SPEC section 2).

Teichmann, Larisch & Hamker (2021), Neural Networks 144:210-228;
Larisch et al. (2021), PLOS Comput Biol 17(11):e1009566; the adaptive
exponential neuron follows Clopath et al. (2010), Nat Neurosci 13:344.

Units: time in ms, voltage in mV, currents in pA, capacitance in pF,
conductances gL in nS; g_Exc/g_Inh are in mV/ms (they add directly to dvm/dt).
Integration: explicit Euler with dt = 1 ms, as in the published model.

The equations are written exactly as the specification states them; the
order of the lines matters (ANNarchy evaluates them top to bottom, `Spike`
reads `state` before it is counted down).
"""
from models.annarchy_env import prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402

# --- LGN relay neuron --------------------------------------------------------
# Turns every Poisson spike into one spike on the next step and provides the
# presynaptic spike indicator `Spike` and trace `xtrace` used by the Clopath rule.
LGN_PARAMETERS = dict(
    EL=-70.4,      # mV, floor of the integrating variable
    VTrest=-50.4,  # mV, spike threshold
    taux=15.0,     # ms, presynaptic trace time constant
)

LGNNeuron = ann.Neuron(
    parameters="""
        EL = -70.4      : population
        VTrest = -50.4  : population
        taux = 15.0     : population
    """,
    equations="""
        dg_exc/dt = EL/1000 : min=EL, init=-70.6
        Spike = if state == 1: 1.0 else: 0.0
        dxtrace/dt = if state == 1: 1/taux else: -xtrace/taux : init=0.0
        state = if state > 0: -1 else: 0
    """,
    spike="g_exc > VTrest",
    reset="""
        g_exc = EL
        state = 1
    """,
    name="LGN relay",
    description="Relays each Poisson spike one step later; provides Spike and xtrace.",
)

# --- Adaptive exponential neuron after Clopath et al. (2010) -------------------
ADEX_PARAMETERS = dict(
    C=281.0,        # pF, membrane capacitance
    gL=30.0,        # nS, leak conductance
    EL=-70.6,       # mV, leak reversal potential
    DeltaT=2.0,     # mV, slope factor of the exponential
    tauw=144.0,     # ms, adaptation time constant
    a=4.0,          # nS, subthreshold adaptation
    b=0.0805,       # pA, spike-triggered adaptation
    Isp=400.0,      # pA, depolarising spike after-potential current
    tauz=40.0,      # ms, decay of the after-potential current z
    VTrest=-50.4,   # mV, resting adaptive threshold
    VTMax=-30.4,    # mV, threshold right after a spike
    tauVT=50.0,     # ms, threshold relaxation
    taux=15.0,      # ms, presynaptic trace (this cell as a presynaptic partner)
    tauLTD=10.0,    # ms, low-pass filter u- of vm (Clopath LTD)
    tauLTP=7.0,     # ms, low-pass filter u+ of vm (Clopath LTP)
    taumean=750.0,  # ms, homeostatic mean of the squared depolarisation
    tau_gExc=1.0,   # ms, excitatory conductance decay
    tau_gInh=10.0,  # ms, inhibitory conductance decay
)

AdExNeuron = ann.Neuron(
    parameters="\n".join(f"{k} = {v!r} : population" for k, v in ADEX_PARAMETERS.items()),
    equations="""
        dvm/dt = if state >= 2: 3.462 else: if state == 1: -(vm + 51.75) + (Isp - (wad + b))/C + g_Exc - g_Inh else: (-gL*(vm - EL) + gL*DeltaT*exp((vm - VT)/DeltaT) - wad + z)/C + g_Exc - g_Inh : init=-70.6
        dvmean/dt = (pos(vm - EL)^2 - vmean)/taumean : init=0.0
        dumeanLTD/dt = (vm - umeanLTD)/tauLTD : init=-70.0
        dumeanLTP/dt = (vm - umeanLTP)/tauLTP : init=-70.0
        dxtrace/dt = if state == 1: 1/taux else: -xtrace/taux : init=0.0
        dwad/dt = if state == 2: 0.0 else: if state == 1: b/tauw else: (a*(vm - EL) - wad)/tauw : init=0.0
        dz/dt = if state == 1: -z + Isp - 10 else: -z/tauz : init=0.0
        dVT/dt = if state == 1: (VTMax - VT) - 0.4 else: (VTrest - VT)/tauVT : init=-50.4
        dg_Exc/dt = -g_Exc/tau_gExc
        dg_Inh/dt = -g_Inh/tau_gInh
        Spike = if state == 1: 1.0 else: 0.0
        state = if state > 0: state - 1 else: 0
    """,
    spike="(vm > VT) and (state == 0)",
    reset="""
        vm = 29.0
        state = 2
        VT = VTMax
    """,
    name="AdEx (Clopath 2010)",
    description="Adaptive exponential neuron with spike after-potential and adaptive threshold.",
)
