"""Every number of the published layer-4 and layer-2/3 model, in one place.

Edit a constant here (a population size, a learning rate, the patch size) and
rerun: network assembly, file shapes, plots and layer-2/3 loading all follow.
Source: MODEL_SPEC sections 1, 4 and 5 (Teichmann, Larisch & Hamker 2021;
Larisch et al. 2021). Times in ms, rates in Hz.
"""
from dataclasses import dataclass

DT = 1.0                 # ms, integration step (explicit Euler)

# --- input ---------------------------------------------------------------------
PATCH_SIZE = 18          # pixels; input geometry is (PATCH_SIZE, PATCH_SIZE, 2) ON/OFF
MAX_RATE = 100.0         # Hz, Poisson rate of the brightest pixel of an image
PRESENTATION_MS = 125.0  # ms per patch, no pause, no reset between patches
LGN_WEIGHT = 30.0        # Poisson -> LGN one-to-one weight (one LGN spike per Poisson spike)

# --- training schedule -----------------------------------------------------------
N_PATCHES = 400_000      # patches per training run (50,000 s of model time)
NORMALIZE_EVERY = 160    # patches between ON/OFF weight-norm balancing (layer 4 only)
N_SNAPSHOTS = 20         # snapshots at every 1/20 of the run (plus patch 0 and the end)
RATE_WINDOW = 100        # patches per firing-rate window in frExc.npy / frInh.npy

# --- population sizes ---------------------------------------------------------------
N_LGN = PATCH_SIZE * PATCH_SIZE * 2   # 648
N_E = 324                # layer-4 excitatory cells
N_I = 81                 # layer-4 inhibitory cells
N_E2 = 324               # layer-2/3 excitatory cells
N_I2 = 81                # layer-2/3 inhibitory cells

THETA_LTD = -70.6        # mV, Clopath LTD voltage threshold (all projections)
THETA_LTP = -45.3        # mV, Clopath LTP voltage threshold (all projections)


@dataclass(frozen=True)
class ClopathParams:
    """Per-projection parameters of the Clopath et al. (2010) rule."""
    urefsquare: float    # mV^2, reference for the homeostatic LTD scaling
    aLTD: float          # 1/(ms mV), LTD amplitude
    aLTP: float          # 1/(ms mV^2), LTP amplitude
    wMax: float          # LTP is off at w >= wMax
    wMin: float = 0.0    # LTD is off at w <= wMin
    thetaLTD: float = THETA_LTD
    thetaLTP: float = THETA_LTP


@dataclass(frozen=True)
class VogelsParams:
    """Per-projection parameters of the Vogels et al. (2011) iSTDP rule (1 + w variant)."""
    aPlus: float         # learning rate
    Offset: float        # target-rate offset subtracted on a presynaptic spike
    taupre: float = 10.0 # ms, pre and post trace time constant
    hMin: float = 0.0    # lower weight bound
    hMax: float = 0.5    # upper weight bound


@dataclass(frozen=True)
class ProjectionSpec:
    """One projection of a layer: who to whom, which rule, initial weights, delays."""
    name: str
    pre: str
    post: str
    target: str                      # "Exc" or "Inh"
    rule: ClopathParams | VogelsParams | None
    w_init: tuple                    # (low, high) of a uniform draw; equal values = constant
    delay: tuple | None = None       # (low, high) ms of a uniform draw, or None
    self_connections: bool = True


# --- layer 4 (MODEL_SPEC section 4) ---------------------------------------------------
L4_PROJECTIONS = (
    ProjectionSpec("LGN_E", "LGN", "E", "Exc",
                   ClopathParams(urefsquare=60.0, aLTD=0.00014 * 0.6, aLTP=0.00018 * 0.6, wMax=5.0),
                   (0.025, 1.0)),
    ProjectionSpec("LGN_I", "LGN", "I", "Exc",
                   ClopathParams(urefsquare=55.0, aLTD=0.00014 * 0.3, aLTP=0.00018 * 0.3, wMax=3.0),
                   (0.0, 0.1)),
    ProjectionSpec("E_I", "E", "I", "Exc",
                   ClopathParams(urefsquare=55.0, aLTD=0.000012 * 0.03, aLTP=0.000015 * 0.03, wMax=0.7),
                   (0.0, 0.1)),
    ProjectionSpec("I_E", "I", "E", "Inh", VogelsParams(aPlus=4e-6, Offset=0.35), (0.0, 0.0)),
    ProjectionSpec("I_I", "I", "I", "Inh", VogelsParams(aPlus=4e-6, Offset=0.45), (0.0, 0.0),
                   self_connections=False),
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

# --- layer 2/3 (MODEL_SPEC section 5) -----------------------------------------------
L23_PROJECTIONS = (
    ProjectionSpec("E_E2", "E", "E2", "Exc",
                   ClopathParams(urefsquare=50.0, aLTD=0.00012 * 0.625, aLTP=0.00014 * 0.625, wMax=3.25),
                   (0.20, 1.25), delay=(1.0, 3.0)),
    ProjectionSpec("E2_I2", "E2", "I2", "Exc",
                   ClopathParams(urefsquare=50.0, aLTD=0.000014 * 0.4, aLTP=0.000018 * 0.4, wMax=1.0),
                   (0.01, 0.5), delay=(1.0, 3.0)),
    ProjectionSpec("E_I2", "E", "I2", "Exc",
                   ClopathParams(urefsquare=45.0, aLTD=0.00012 * 0.4, aLTP=0.00015 * 0.4, wMax=1.0),
                   (0.01, 0.1)),
    ProjectionSpec("I2_E2", "I2", "E2", "Inh", VogelsParams(aPlus=8e-6, Offset=0.50), (0.1, 0.3)),
    ProjectionSpec("I2_I2", "I2", "I2", "Inh", VogelsParams(aPlus=4e-6, Offset=0.60), (0.05, 0.13),
                   self_connections=False),
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

POPULATION_SIZES = {"LGN": N_LGN, "E": N_E, "I": N_I, "E2": N_E2, "I2": N_I2}


def projection_shape(spec: ProjectionSpec) -> tuple[int, int]:
    """(n_post, n_pre) of a weight file; one column fewer without self-connections."""
    n_post, n_pre = POPULATION_SIZES[spec.post], POPULATION_SIZES[spec.pre]
    if not spec.self_connections and spec.pre == spec.post:
        n_pre -= 1
    return n_post, n_pre
