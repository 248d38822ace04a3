"""Every number of the published layer-4 and layer-2/3 model, in one place.

Edit a constant here (a population size, a learning rate, a neuron constant, the
patch size) and rerun: the neuron equations, network assembly, file shapes, plots,
layer-2/3 loading and the run record (``run.json``) all follow, and ``--resume``
refuses to continue a run whose model differs.

Source: docs/model.md §1–§5 (Teichmann, Larisch & Hamker 2021, Neural Networks
144:210-228; Larisch et al. 2021, PLOS Comput Biol 17:e1009566; the neuron after
Clopath et al. 2010, Nat Neurosci 13:344). Units: time in ms, voltage in mV,
current in pA, capacitance in pF, conductance in nS, rates in Hz. The conductances
g_Exc and g_Inh are in mV/ms: a presynaptic spike adds its weight to them and they
add directly to dvm/dt.
"""
from __future__ import annotations

from dataclasses import dataclass

from input.images import Whitening
from rules import ClopathParams, VogelsParams

DT = 1.0                 # ms, integration step (explicit Euler); must divide every duration below


def steps(duration_ms: float, dt: float = DT) -> int:
    """*duration_ms* in integration steps; a duration that is not a whole number of steps is refused."""
    n = round(duration_ms / dt)
    if n < 1 or abs(n * dt - duration_ms) > 1e-9 * max(1.0, duration_ms):
        raise ValueError(f"DT = {dt:g} ms does not divide {duration_ms:g} ms into whole steps")
    return n

# --- 1. input ------------------------------------------------------------------------------
PATCH_SIZE = 18          # pixels; input geometry is (PATCH_SIZE, PATCH_SIZE, 2) ON/OFF
MAX_RATE = 100.0         # Hz, Poisson rate of the largest ON/OFF value of an image
PRESENTATION_MS = 125.0  # ms per patch, no pause, no reset between patches
FLIP_PROBABILITY = 0.5   # each patch is flipped left-right, and independently up-down, with this p
# Olshausen & Field's whitening of photographs (training images given as a folder, the
# stand-in, the evaluation's data sets): filter f*exp(-(f/f0)^4), f0 = 0.4 N; variance 0.1.
WHITENING = Whitening(f0_fraction=0.4, variance=0.1)


def whole_patches(duration_ms: float, presentation_ms: float = PRESENTATION_MS) -> int:
    """*duration_ms* of model time in patches; a duration that is not a whole number is refused."""
    n = round(duration_ms / presentation_ms)
    if n < 1 or abs(n * presentation_ms - duration_ms) > 1e-9 * duration_ms:
        raise ValueError(f"{duration_ms:g} ms is not a whole number of {presentation_ms:g}-ms presentations")
    return n

# --- 2. neurons ------------------------------------------------------------------------------
# LGN relay: turns every Poisson spike into one spike on the next step and gives the
# Clopath rule its presynaptic spike indicator `Spike` and trace `xtrace`.
LGN_PARAMETERS = dict(
    EL=-70.4,            # mV, floor of the integrating variable g_exc (and its reset)
    VTrest=-50.4,        # mV, spike threshold of g_exc
    taux=15.0,           # ms, presynaptic trace time constant
)
LGN_DRIFT_MS = 1000.0    # ms; g_exc drifts by EL/LGN_DRIFT_MS per ms towards its floor EL
LGN_G_INIT = -70.6       # mV, initial g_exc (docs/model.md §2)
LGN_WEIGHT = 30.0        # Poisson -> LGN one-to-one weight: one LGN spike per Poisson spike

# Adaptive exponential neuron (Clopath et al. 2010), for every E and I cell.
ADEX_PARAMETERS = dict(
    C=281.0,             # pF, membrane capacitance
    gL=30.0,             # nS, leak conductance
    EL=-70.6,            # mV, leak reversal potential
    DeltaT=2.0,          # mV, slope factor of the exponential
    tauw=144.0,          # ms, adaptation time constant
    a=4.0,               # nS, subthreshold adaptation
    b=0.0805,            # pA, spike-triggered adaptation
    Isp=400.0,           # pA, depolarising spike after-potential current
    tauz=40.0,           # ms, decay of the after-potential current z
    VTrest=-50.4,        # mV, resting adaptive threshold
    VTMax=-30.4,         # mV, threshold right after a spike
    tauVT=50.0,          # ms, threshold relaxation
    taux=15.0,           # ms, presynaptic trace (this cell as a presynaptic partner)
    tauLTD=10.0,         # ms, low-pass filter u- of vm (Clopath LTD)
    tauLTP=7.0,          # ms, low-pass filter u+ of vm (Clopath LTP)
    taumean=750.0,       # ms, homeostatic mean of the squared depolarisation
    tau_gExc=1.0,        # ms, excitatory conductance decay
    tau_gInh=10.0,       # ms, inhibitory conductance decay
)
# The 2-ms spike (docs/model.md §2): at a spike vm is set to SPIKE_PEAK and the counter `state`
# to the spike's length in steps; it counts down by one per step. During the upstroke
# (SPIKE_UPSTROKE_MS) vm rises by SPIKE_UPSTROKE per ms; at the first step of the downstroke
# (SPIKE_DOWNSTROKE_MS) vm jumps to SPIKE_DOWNSTROKE_TO (plus the currents of the downstroke),
# z to Isp - Z_JUMP_OFFSET and VT to VTMax - VT_JUMP_OFFSET; `Spike` is 1 during the downstroke.
SPIKE_PEAK = 29.0            # mV
SPIKE_UPSTROKE = 3.462       # mV/ms
SPIKE_DOWNSTROKE_TO = -51.75  # mV
Z_JUMP_OFFSET = 10.0         # pA
VT_JUMP_OFFSET = 0.4         # mV
SPIKE_UPSTROKE_MS = 1.0      # ms, first part of the spike
SPIKE_DOWNSTROKE_MS = 1.0    # ms, second part (Spike = 1, after-potential jumps)
LGN_SPIKE_MS = 1.0           # ms during which a relay cell's Spike is 1 after its spike
U_MEAN_INIT = -70.0          # mV, initial umeanLTD and umeanLTP (docs/model.md §2)
# Initial values that docs/model.md §2 ties to the parameters: vm = EL, VT = VTrest.

# --- 3. learning rules ------------------------------------------------------------------------
THETA_LTD = -70.6        # mV, Clopath threshold of umeanLTD / umeanLTP (all projections)
THETA_LTP = -45.3        # mV, Clopath threshold of vm for LTP (all projections)
CLOPATH_W_MIN = 0.0      # LTD is off at w <= wMin (all Clopath projections)
VOGELS_TAU_TRACE = 10.0  # ms, Vogels tracePre / tracePost time constant (taupre)
VOGELS_W_MIN = 0.0       # Vogels weight bounds [hMin, hMax]
VOGELS_W_MAX = 0.5


def clopath(urefsquare, aLTD, aLTP, wMax) -> ClopathParams:
    """A Clopath projection of docs/model.md §4/§5 (urefsquare mV^2, aLTD 1/(ms mV), aLTP 1/(ms mV^2))."""
    return ClopathParams(urefsquare=urefsquare, aLTD=aLTD, aLTP=aLTP, wMin=CLOPATH_W_MIN, wMax=wMax,
                         thetaLTD=THETA_LTD, thetaLTP=THETA_LTP)


def vogels(aPlus, Offset) -> VogelsParams:
    """A Vogels projection of docs/model.md §4/§5 (aPlus per event, Offset in trace units)."""
    return VogelsParams(aPlus=aPlus, Offset=Offset, taupre=VOGELS_TAU_TRACE, hMin=VOGELS_W_MIN,
                        hMax=VOGELS_W_MAX)


# --- training schedule -----------------------------------------------------------------------
N_PATCHES = 400_000      # patches per training run (50,000 s of model time)
NORMALIZE_MS = 20_000.0  # ms of model time between ON/OFF weight-norm balances (layer 4 only)
NORMALIZE_EVERY = whole_patches(NORMALIZE_MS)   # 160 patches of 125 ms
N_SNAPSHOTS = 20         # snapshots at every 1/20 of the run (plus patch 0 and the end)
RATE_WINDOW = 100        # patches per firing-rate window in frExc.npy / frInh.npy

# --- early-failure check of layer 4 (docs/model.md §4) ------------------------------------------
FIELD_FRACTION = 0.5        # a cell has a field when its largest LGN weight is >= FIELD_FRACTION * wMax
HEALTH_CHECK_PATCH = 2000   # patches presented when the check runs
HEALTH_FAIL_FRACTION = 0.15     # failing: more E cells than this without a field
HEALTH_PARTIAL_FRACTION = 0.05  # partial loss: more than this (seed study: 1 of 100 seeds, 8.6 %)
HEALTH_RATE_FROM_PATCH = 100    # the reported I rate is the mean from this patch to the check

# --- analysis (docs/model.md §7) -----------------------------------------------------------------
RESPONSIVE_HZ = 16.0     # a cell responds to a stimulus set when its best rate is at least this

# --- population sizes ------------------------------------------------------------------------
N_LGN = PATCH_SIZE * PATCH_SIZE * 2   # 648
N_E = 324                # layer-4 excitatory cells
N_I = 81                 # layer-4 inhibitory cells
N_E2 = 324               # layer-2/3 excitatory cells
N_I2 = 81                # layer-2/3 inhibitory cells
POPULATION_SIZES = {"LGN": N_LGN, "E": N_E, "I": N_I, "E2": N_E2, "I2": N_I2}


@dataclass(frozen=True)
class ProjectionSpec:
    """One projection of a layer: who to whom, which rule, initial weights, delays."""
    name: str
    pre: str
    post: str
    target: str                      # "Exc" or "Inh"
    rule: ClopathParams | VogelsParams | None   # None: static synapses
    w_init: tuple                    # (low, high) of a uniform draw; equal values = constant
    delay: tuple | None = None       # (low, high) ms of a uniform draw (rounded to DT), or None
    self_connections: bool = True


# --- 4. layer 4 (docs/model.md §4) ----------------------------------------------------------
#                 name     pre    post  target  rule: urefsquare, aLTD, aLTP, wMax       initial w
L4_PROJECTIONS = (
    ProjectionSpec("LGN_E", "LGN", "E", "Exc", clopath(60.0, 0.00014 * 0.6, 0.00018 * 0.6, 5.0), (0.025, 1.0)),
    ProjectionSpec("LGN_I", "LGN", "I", "Exc", clopath(55.0, 0.00014 * 0.3, 0.00018 * 0.3, 3.0), (0.0, 0.1)),
    ProjectionSpec("E_I", "E", "I", "Exc", clopath(55.0, 0.000012 * 0.03, 0.000015 * 0.03, 0.7), (0.0, 0.1)),
    #                                       rule: aPlus, Offset
    ProjectionSpec("I_E", "I", "E", "Inh", vogels(4e-6, 0.35), (0.0, 0.0)),
    ProjectionSpec("I_I", "I", "I", "Inh", vogels(4e-6, 0.45), (0.0, 0.0), self_connections=False),
)

# Snapshot files of layer 4: projection -> (subfolder, file stem).
L4_SNAPSHOT_FILES = {
    "LGN_E": ("excitatory", "V1weight"),
    "LGN_I": ("excitatory", "InhibW"),
    "E_I": ("V1toIN", "V1toIN"),
    "I_E": ("inhibitory", "INtoV1"),
    "I_I": ("inhibitory", "INLat"),
}
# Projections whose ON and OFF weight norms are balanced every NORMALIZE_EVERY patches.
L4_ONOFF_BALANCED = ("LGN_E", "LGN_I")

# --- 5. layer 2/3 (docs/model.md §5) ---------------------------------------------------------
L23_PROJECTIONS = (
    ProjectionSpec("E_E2", "E", "E2", "Exc", clopath(50.0, 0.00012 * 0.625, 0.00014 * 0.625, 3.25),
                   (0.20, 1.25), delay=(1.0, 3.0)),
    ProjectionSpec("E2_I2", "E2", "I2", "Exc", clopath(50.0, 0.000014 * 0.4, 0.000018 * 0.4, 1.0),
                   (0.01, 0.5), delay=(1.0, 3.0)),
    ProjectionSpec("E_I2", "E", "I2", "Exc", clopath(45.0, 0.00012 * 0.4, 0.00015 * 0.4, 1.0), (0.01, 0.1)),
    ProjectionSpec("I2_E2", "I2", "E2", "Inh", vogels(8e-6, 0.50), (0.1, 0.3)),
    ProjectionSpec("I2_I2", "I2", "I2", "Inh", vogels(4e-6, 0.60), (0.05, 0.13), self_connections=False),
)

L23_SNAPSHOT_FILES = {
    "E_E2": ("excitatory", "V2weight"),
    "E2_I2": ("excitatory", "V2toIN2"),
    "E_I2": ("excitatory", "V1toIN2"),
    "I2_E2": ("inhibitory", "IN2toV2"),
    "I2_I2": ("inhibitory", "IN2Lat"),
}
# Delay files of layer 2/3 (written once, the delays do not learn).
L23_DELAY_FILES = {
    "E_E2": ("excitatory", "V1toV2_Delay.txt"),
    "E2_I2": ("excitatory", "V2toIN2_Delay.txt"),
}


def projection_shape(spec: ProjectionSpec) -> tuple[int, int]:
    """(n_post, n_pre) of a weight file; one column fewer without self-connections."""
    n_post, n_pre = POPULATION_SIZES[spec.post], POPULATION_SIZES[spec.pre]
    if not spec.self_connections and spec.pre == spec.post:
        n_pre -= 1
    return n_post, n_pre
