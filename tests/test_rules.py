"""Clopath and Vogels learning rules (docs/model.md §3) against independent numpy references.

The equations of the references are written out here; their numbers come from the model value
(the rules of LGN->E and I->E, the shared thresholds, trace time constant and bounds, the LGN
relay), and every test runs for the published model and for the named variant "perturbed",
whose every one of these numbers differs (tests/test_model.py pins PUBLISHED to the
specification). Only the learning rates are scaled up (``RATE_GAIN``, ``VOGELS_GAIN``) so that
both terms of each rule change the weights visibly within ``T`` steps, and the test weights are
given as fractions of the projection's wMax.

Per model, one ANNarchy network holds every test projection (literal and fast forms of both
rules) and is compiled once (single-threaded); a second copy of the published model's is
compiled with num_threads=2 for the multi-thread test only. Each network lives in its own
directory under pytest's tmp_path_factory.

Step order assumed by the references (ANNarchy 5, dt = 1 ms, step n runs from t = n):
  1. compute_psp: spikes emitted in step n-1 are delivered (g_target += w; Vogels pre-spike
     weight update, then tracePre += 1);
  2. neuron updates of step n (the prescribed post traces are evaluated at t = n; the LGN relay
     spikes one step after its source; its Spike = 1 and its xtrace += 1/taux one step later);
  3. synapse updates: Clopath dw = dt*(-LTD + LTP) from the values of step n, gates on the old w,
     then w = max(w, 0); Vogels traces decay trace += dt*(-trace/taupre);
  4. post-spike events of step n (Vogels: w update with the decayed tracePre, tracePost += 1).
The weights are read after each step (simulate(1)), so ref[n] is w at the end of step n.
The fast Clopath projection brings its weights up to date every `flush_period` steps: it is
tested with flush_period = 1 (current after every step) and LAZY_PERIOD (compared at the ends
of its periods, where it must be current).
"""

from dataclasses import dataclass, replace

import numpy as np
import pytest

import ANNarchy as ann

from simulator.network import compile_network
from models.neurons import lgn_relay
from models.parameters import PUBLISHED
from models.variants import variant as named_variant
from rules.clopath import literal_synapse as clopath_synapse
from rules.fast import FastClopathProjection, FastVogelsProjection
from rules.vogels import literal_synapse as vogels_synapse

DT = 1.0
T = 400                     # steps simulated
DELAYS = np.array([[1.0, 2.0, 3.0, 2.0], [3.0, 1.0, 2.0, 3.0], [2.0, 3.0, 1.0, 1.0]])   # ms, (post, pre)
LAZY_PERIOD = 50            # flush period of the lazily updated fast Clopath projection
PERIOD_ENDS = np.arange(LAZY_PERIOD - 1, T, LAZY_PERIOD)   # steps after which it is current
MODELS = {"published": PUBLISHED, "perturbed": named_variant("perturbed")}

# --- Clopath drive -----------------------------------------------------------------------------
# Source spike times of the 4 presynaptic relay cells (isolated spikes, consecutive pairs, bursts).
_rng = np.random.default_rng(12345)
SRC_TIMES = [
    list(range(3, T - 5, 13)),
    sorted(set(_rng.integers(1, T - 5, size=30).tolist())),
    sorted({s + d for s in range(7, T - 10, 41) for d in (0, 1)}),
    [20, 21, 22, 150, 151, 152, 153, 300],
]
N_PRE = len(SRC_TIMES)

# Prescribed postsynaptic traces (closed form in t), one row per postsynaptic cell:
#   vm = vb + va*sin(2*pi*(t + ph)/37)        vmean = 40 + 20*cos((t + ph)/50)
#   umeanLTD = db + da*sin((t + ph)/23)       umeanLTP = -62 + 12*sin((t + ph)/31)
# cell 0: LTD and LTP; cell 1: LTP only (umeanLTD <= -72 < thetaLTD);
# cell 2: LTD only (vm <= -50 < thetaLTP).
POST = dict(vb=[-60.0, -60.0, -60.0], va=[25.0, 25.0, 10.0], ph=[0.0, 7.0, 13.0],
            db=[-65.0, -75.0, -65.0], da=[10.0, 3.0, 10.0])
N_POST = 3

PrescribedPost = ann.Neuron(
    parameters="""
        vb = -60.0
        va = 25.0
        ph = 0.0
        db = -65.0
        da = 10.0
    """,
    equations="""
        vm = vb + va*sin(2*pi*(t + ph)/37.0)
        vmean = 40.0 + 20.0*cos((t + ph)/50.0)
        umeanLTD = db + da*sin((t + ph)/23.0)
        umeanLTP = -62.0 + 12.0*sin((t + ph)/31.0)
        gexc_seen = g_Exc
    """,
    spike="vm > 1000.0",
    name="prescribed post (test)",
)

# The rule of LGN->E with its rates times RATE_GAIN (A: the model's wMin; B: wMin = 0.3 wMax,
# to test the LTD gate, which the model's wMin = 0 leaves closed only at w = 0). Initial
# weights in units of wMax.
RATE_GAIN = 250.0
W_MIN_B = 0.3
W_A = np.array([[0.5, 0.3, 0.8, 0.05],
                [1.2, 0.9, 0.95, 0.4],     # 1.2 > wMax on the LTP-only cell: must not move
                [0.01, 0.5, 0.003, 0.2]])  # small weights on the LTD-only cell: clipped at 0
W_B = np.array([[0.5, 0.3, 0.8, 0.05],
                [1.2, 0.9, 0.95, 0.4],
                [0.25, 0.3, 0.31, 0.6]])   # <= wMin: frozen; 0.31 and 0.6 fall to just below wMin

# --- Vogels drive ------------------------------------------------------------------------------
VOGELS_GAIN = 75_000.0      # the rule of I->E with aPlus times this
VPRE_TIMES = [[10, 11, 12, 60, 61, 62, 63, 100, 140],
              [30, 80, 81, 120, 200],
              [15, 50, 51, 52, 53, 54, 90, 139]]
VPOST_FIRE = [[13, 14, 15, 16, 40, 81, 82, 101, 130, 141],
              [13, 55, 56, 57, 58, 92, 121, 140, 201]]
W_V = np.array([[0.2, 0.4, 0.1],
                [0.3, 0.05, 0.45]])

FiredPost = ann.Neuron(
    equations="""
        dfire/dt = 0.0 : init=0.0
        ginh_seen = g_Inh
    """,
    spike="fire > 0.5",
    reset="fire = 0.0",
    name="post fired on command (test)",
)


@dataclass(frozen=True)
class Numbers:
    """The numbers of one model that the test network and the references use."""
    clopath_a: object          # rules.ClopathParams
    clopath_b: object
    w_a: np.ndarray            # initial weights (W_A, W_B times wMax)
    w_b: np.ndarray
    vogels: object             # rules.VogelsParams
    lgn_taux: float            # ms, the relay's xtrace
    lgn_weight: float          # source -> relay weight


def numbers(model) -> Numbers:
    clopath = model.clopath(model.l4.LGN_E)
    a = replace(clopath, aLTD=clopath.aLTD * RATE_GAIN, aLTP=clopath.aLTP * RATE_GAIN)
    vogels = model.vogels(model.l4.I_E)
    return Numbers(clopath_a=a, clopath_b=replace(a, wMin=W_MIN_B * a.wMax), w_a=W_A * a.wMax, w_b=W_B * a.wMax,
                   vogels=replace(vogels, aPlus=vogels.aPlus * VOGELS_GAIN), lgn_taux=model.lgn.taux,
                   lgn_weight=model.lgn.input_weight)


def _run(directory, num_threads, model):
    """Build, compile and simulate the test network of *model*; return every trajectory."""
    nums = numbers(model)
    net = ann.Network(dt=DT, seed=1)
    net.config(num_threads=num_threads)
    src = net.create(ann.SpikeSourceArray(spike_times=[list(map(float, s)) for s in SRC_TIMES]))
    lgn = net.create(geometry=N_PRE, neuron=lgn_relay(model).annarchy(), name="LGN")
    net.connect(src, lgn, "exc").one_to_one(weights=nums.lgn_weight)
    post = net.create(geometry=N_POST, neuron=PrescribedPost, name="Post")
    for key, values in POST.items():
        setattr(post, key, np.array(values))

    projs = {}
    for tag, params, w0 in (("A", nums.clopath_a, nums.w_a), ("B", nums.clopath_b, nums.w_b)):
        lit = net.connect(lgn, post, "Exc", synapse=clopath_synapse(params), name=f"clo_lit_{tag}")
        lit.from_matrix(w0, storage_format="dense")
        projs[f"clo_lit_{tag}"] = lit
        for variant, period in (("fast", 1), ("lazy", LAZY_PERIOD)):
            fast = FastClopathProjection(lgn, post, "Exc", params, period, name=f"clo_{variant}_{tag}",
                                         net_id=net.id)
            fast.from_matrix(w0, storage_format="dense", storage_order="pre_to_post")
            projs[f"clo_{variant}_{tag}"] = fast

    # Non-uniform delays: ANNarchy's literal rule (LIL storage, ANNarchy's delays) reads the
    # presynaptic Spike and xtrace delay - 1 steps late and transmits each spike after its
    # delay; the fast form keeps the delays itself and must do the same. Each has a post
    # population of its own (the same prescribed traces), so that its g_Exc can be compared.
    delayed_posts = {}
    for variant, make in (("lit", None), ("lazy", LAZY_PERIOD)):
        target = net.create(geometry=N_POST, neuron=PrescribedPost, name=f"PostD_{variant}")
        for key, values in POST.items():
            setattr(target, key, np.array(values))
        delayed_posts[variant] = target
        if make is None:
            proj = net.connect(lgn, target, "Exc", synapse=clopath_synapse(nums.clopath_a), name="clo_lit_D")
            proj.from_matrix(nums.w_a, delays=DELAYS, storage_format="lil")
        else:
            proj = FastClopathProjection(lgn, target, "Exc", nums.clopath_a, make, delays=DELAYS, name="clo_lazy_D",
                                         net_id=net.id)
            proj.from_matrix(nums.w_a, storage_format="dense", storage_order="pre_to_post")
        projs[f"clo_{variant}_D"] = proj

    vpre = net.create(ann.SpikeSourceArray(spike_times=[list(map(float, s)) for s in VPRE_TIMES]))
    vpost = {}
    for variant in ("lit", "fast"):
        vpost[variant] = net.create(geometry=len(VPOST_FIRE), neuron=FiredPost, name=f"VPost_{variant}")
    vl = net.connect(vpre, vpost["lit"], "Inh", synapse=vogels_synapse(nums.vogels), name="vog_lit")
    vl.from_matrix(W_V, storage_format="dense")
    vf = FastVogelsProjection(vpre, vpost["fast"], "Inh", nums.vogels, name="vog_fast", net_id=net.id)
    vf.from_matrix(W_V, storage_format="dense")
    projs["vog_lit"], projs["vog_fast"] = vl, vf

    mon_post = net.monitor(post, ["vm", "vmean", "umeanLTD", "umeanLTP"])
    mon_delayed = {k: net.monitor(p, ["gexc_seen"]) for k, p in delayed_posts.items()}
    mon_lgn = net.monitor(lgn, ["Spike", "xtrace"])
    mon_v = {k: net.monitor(p, ["ginh_seen"]) for k, p in vpost.items()}

    compile_network(net, directory)

    fire = np.zeros((T, len(VPOST_FIRE)))
    for i, times in enumerate(VPOST_FIRE):
        fire[times, i] = 1.0
    w = {name: np.empty((T,) + np.shape(proj.w)) for name, proj in projs.items()}
    for n in range(T):
        for p in vpost.values():
            p.fire = fire[n]
        net.simulate(1)
        for name, proj in projs.items():
            w[name][n] = np.asarray(proj.w, dtype=np.float64)
    out = dict(w=w, post={k: np.asarray(v) for k, v in mon_post.get().items()},
               lgn={k: np.asarray(v) for k, v in mon_lgn.get().items()},
               ginh={k: np.asarray(m.get("ginh_seen")) for k, m in mon_v.items()},
               gexc_delayed={k: np.asarray(m.get("gexc_seen")) for k, m in mon_delayed.items()},
               directory=directory, numbers=nums)
    return out


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    return MODELS[request.param]


@pytest.fixture(scope="module")
def run1(tmp_path_factory, model):
    return _run(tmp_path_factory.mktemp("rules_st") / "build", 1, model)


@pytest.fixture(scope="module")
def run2(tmp_path_factory, model):
    return _run(tmp_path_factory.mktemp("rules_omp") / "build", 2, model)


def test_the_variant_differs_in_every_number_of_the_rules():
    """Otherwise the variant's run would not show that the numbers come from the model value."""
    published, perturbed = numbers(MODELS["published"]), numbers(MODELS["perturbed"])
    for name in ("urefsquare", "aLTD", "aLTP", "wMax", "thetaLTD", "thetaLTP"):
        assert getattr(published.clopath_a, name) != getattr(perturbed.clopath_a, name), name
    for name in ("aPlus", "Offset", "taupre", "hMax"):
        assert getattr(published.vogels, name) != getattr(perturbed.vogels, name), name
    assert published.lgn_taux != perturbed.lgn_taux


# --- numpy references, written from docs/model.md §2 and §3 --------------------------------
def prescribed_post(t):
    """The closed-form post traces at times t (array), shape (len(t), N_POST) each."""
    t = np.asarray(t, dtype=np.float64)[:, None]
    vb, va, ph, db, da = (np.array(POST[k])[None, :] for k in ("vb", "va", "ph", "db", "da"))
    return dict(vm=vb + va * np.sin(2 * np.pi * (t + ph) / 37.0),
                vmean=40.0 + 20.0 * np.cos((t + ph) / 50.0),
                umeanLTD=db + da * np.sin((t + ph) / 23.0),
                umeanLTP=-62.0 + 12.0 * np.sin((t + ph) / 31.0))


def lgn_spike_and_trace(src_times, taux):
    """Spike and xtrace of relay cells driven by sources at src_times (docs/model.md §2):
    relay spike one step after the source, Spike = 1 on the step after the relay spike,
    xtrace += dt/taux on that step, else xtrace += -dt*xtrace/taux."""
    spike = np.zeros((T, len(src_times)))
    for j, times in enumerate(src_times):
        for s in times:
            if s + 2 < T:
                spike[s + 2, j] = 1.0
    x = np.zeros(len(src_times))
    xtrace = np.empty_like(spike)
    for n in range(T):
        x = np.where(spike[n] == 1.0, x + DT / taux, x - DT * x / taux)
        xtrace[n] = x
    return spike, xtrace


def clopath_reference(params, w0, spike, xtrace, post):
    """dw = dt*(-LTD + LTP); LTD gated by w > wMin, LTP by w < wMax (old w); then w >= 0.
    Returns the trajectory and per-step masks of where LTD / LTP / clipping acted."""
    p = params
    w = w0.astype(np.float64).copy()
    traj, ltd_on, ltp_on, clipped = (np.empty((T,) + w.shape) for _ in range(4))
    for n in range(T):
        ltd = p.aLTD * (post["vmean"][n] / p.urefsquare)[:, None] * spike[n][None, :] \
            * np.maximum(post["umeanLTD"][n] - p.thetaLTD, 0.0)[:, None]
        ltp = p.aLTP * np.maximum(post["vm"][n] - p.thetaLTP, 0.0)[:, None] * xtrace[n][None, :] \
            * np.maximum(post["umeanLTP"][n] - p.thetaLTD, 0.0)[:, None]
        ltd = np.where(w > p.wMin, ltd, 0.0)
        ltp = np.where(w < p.wMax, ltp, 0.0)
        new = w + DT * (-ltd + ltp)
        clipped[n] = new < 0.0
        w = np.maximum(new, 0.0)
        traj[n], ltd_on[n], ltp_on[n] = w, ltd > 0, ltp > 0
    return traj, ltd_on.astype(bool), ltp_on.astype(bool), clipped.astype(bool)


def vogels_reference(p, w0, pre_times, post_fire):
    """Vogels iSTDP, (1 + w) variant, per synapse, in the step order of the module docstring.
    Returns the weight trajectory, the g_Inh delivered each step, and the clip events."""
    n_post, n_pre = w0.shape
    w = w0.astype(np.float64).copy()
    tpre = np.zeros((n_post, n_pre))
    tpost = np.zeros((n_post, n_pre))
    traj = np.empty((T, n_post, n_pre))
    g = np.zeros((T, n_post))
    clip_low = clip_high = 0
    for n in range(T):
        for j in range(n_pre):
            if n - 1 in pre_times[j]:          # pre spike of step n-1 arrives in step n
                for i in range(n_post):
                    g[n, i] += w[i, j]
                    new = w[i, j] + p.aPlus * (tpost[i, j] - p.Offset) * (1.0 + w[i, j])
                    clip_low += new < p.hMin
                    clip_high += new > p.hMax
                    w[i, j] = min(max(new, p.hMin), p.hMax)
                    tpre[i, j] += 1.0
        tpre += DT * (-tpre / p.taupre)
        tpost += DT * (-tpost / p.taupre)
        for i in range(n_post):
            if n in post_fire[i]:
                for j in range(n_pre):
                    new = w[i, j] + p.aPlus * tpre[i, j] * (1.0 + w[i, j])
                    clip_low += new < p.hMin
                    clip_high += new > p.hMax
                    w[i, j] = min(max(new, p.hMin), p.hMax)
                    tpost[i, j] += 1.0
        traj[n] = w
    return traj, g, clip_low, clip_high


# --- Clopath -----------------------------------------------------------------------------------
def test_prescribed_drive_is_what_the_reference_assumes(run1):
    """The post traces seen in step n are the closed forms at t = n; the relay's Spike/xtrace
    follow docs/model.md §2 (so the weight comparisons below test the rule alone)."""
    ref = prescribed_post(np.arange(T))
    for key in ref:
        np.testing.assert_allclose(run1["post"][key], ref[key], rtol=1e-12, atol=1e-12, err_msg=key)
    n = run1["numbers"]
    spike, xtrace = lgn_spike_and_trace(SRC_TIMES, n.lgn_taux)
    np.testing.assert_array_equal(run1["lgn"]["Spike"], spike)
    np.testing.assert_allclose(run1["lgn"]["xtrace"], xtrace, rtol=1e-12, atol=1e-15)
    # The drive opens both gates: vm crosses thetaLTP on cells 0 and 1, never on cell 2.
    theta_ltp, theta_ltd = n.clopath_a.thetaLTP, n.clopath_a.thetaLTD
    assert (ref["vm"][:, 0] > theta_ltp).any() and (ref["vm"][:, 0] < theta_ltp).any()
    assert (ref["vm"][:, 2] < theta_ltp).all()
    assert (ref["umeanLTD"][:, 1] < theta_ltd).all()


@pytest.mark.parametrize("variant", ["lit", "fast", "lazy"])
@pytest.mark.parametrize("tag", ["A", "B"])
def test_clopath_matches_numpy_reference(run1, variant, tag):
    """Weight after every step (lazy form: after every period) equals the numpy Euler
    integration (relative error <= 1e-6)."""
    n = run1["numbers"]
    params, w0 = (n.clopath_a, n.w_a) if tag == "A" else (n.clopath_b, n.w_b)
    spike, xtrace = lgn_spike_and_trace(SRC_TIMES, n.lgn_taux)
    ref, ltd_on, ltp_on, _ = clopath_reference(params, w0, spike, xtrace, prescribed_post(np.arange(T)))
    got = run1["w"][f"clo_{variant}_{tag}"]
    if variant == "lazy":
        got, ref = got[PERIOD_ENDS], ref[PERIOD_ENDS]
    # The drive must make both terms act (otherwise the comparison would prove little).
    assert ltd_on.sum() > 50 and ltp_on.sum() > 50
    assert np.abs(ref[-1] - w0).max() > 0.1 * params.wMax
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-12)


def test_clopath_bounds(run1):
    """w >= 0 (clipped at 0 when LTD overshoots); LTP off at w >= wMax; LTD off at w <= wMin."""
    n = run1["numbers"]
    a, b = n.clopath_a, n.clopath_b
    spike, xtrace = lgn_spike_and_trace(SRC_TIMES, n.lgn_taux)
    post = prescribed_post(np.arange(T))
    for variant in ("lit", "fast"):
        wa = run1["w"][f"clo_{variant}_A"]
        wb = run1["w"][f"clo_{variant}_B"]
        assert (wa >= 0.0).all() and (wb >= 0.0).all()
        # Small weights on the LTD-only cell: LTD overshoots 0 -> clipped to exactly 0, stays there.
        _, _, _, clipped = clopath_reference(a, n.w_a, spike, xtrace, post)
        for j in (0, 2):
            first = np.argmax(clipped[:, 2, j])
            assert clipped[first, 2, j], "the drive must push the small weight below 0"
            assert (wa[:first, 2, j] > 0.0).all() and (wa[first:, 2, j] == 0.0).all()
        # Above wMax on the LTP-only cell (no LTD there): frozen at its initial value.
        assert (wa[:, 1, 0] == n.w_a[1, 0]).all() and (wb[:, 1, 0] == n.w_b[1, 0]).all()
        # Weights that grow through wMax: once >= wMax they never change again (no LTD on cell 1).
        for j in (1, 2):
            w = wa[:, 1, j]
            k = np.argmax(w >= a.wMax)
            assert w[k] >= a.wMax and (w[:k] < a.wMax).all()
            assert (w[k:] == w[k]).all()
        # wMin = 0.3 wMax on the LTD-only cell: w <= wMin never moves; w > wMin falls once
        # below it and then stays; 0.6 wMax is also driven below wMin.
        assert n.w_b[2, 1] == b.wMin
        assert (wb[:, 2, 0] == n.w_b[2, 0]).all() and (wb[:, 2, 1] == b.wMin).all()
        for j in (2, 3):
            w = wb[:, 2, j]
            k = np.argmax(w <= b.wMin)
            assert w[k] < b.wMin and (w[:k] > b.wMin).all()
            assert (w[k:] == w[k]).all() and w[k] > 0.0


def test_clopath_fast_equals_literal(run1):
    """The fast forms sum the same terms in another order: equal to 1e-9 relative, and the
    lazy form also at every period end (where its weights are current)."""
    for tag in ("A", "B"):
        lit = run1["w"][f"clo_lit_{tag}"]
        np.testing.assert_allclose(run1["w"][f"clo_fast_{tag}"], lit, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(run1["w"][f"clo_lazy_{tag}"][PERIOD_ENDS], lit[PERIOD_ENDS],
                                   rtol=1e-9, atol=1e-15)


def test_clopath_fast_follows_delays(run1):
    """With per-synapse delays of 1-3 steps the fast form equals the literal one at period ends
    (the delays must matter: the delayed literal differs from the undelayed one)."""
    lit, lazy = run1["w"]["clo_lit_D"][PERIOD_ENDS], run1["w"]["clo_lazy_D"][PERIOD_ENDS]
    np.testing.assert_allclose(lazy, lit, rtol=1e-9, atol=1e-15)
    assert np.abs(lit - run1["w"]["clo_lit_A"][PERIOD_ENDS]).max() > 1e-3


def test_clopath_fast_transmits_with_the_delays(run1):
    """The fast form delivers each spike after its own synapse's delay, as ANNarchy's LIL
    delays do: the same conductance in every step (weights equal to ~1e-12), and for the
    LTP-only cell 1 (its weights never fall to 0) input exactly at relay spike + delay."""
    lit, fast = run1["gexc_delayed"]["lit"], run1["gexc_delayed"]["lazy"]
    np.testing.assert_allclose(fast, lit, rtol=1e-9, atol=1e-15)
    expected = np.zeros(T, bool)
    for j, times in enumerate(SRC_TIMES):
        for s in times:                      # relay spike at s + 1, delivered delay steps later
            if s + 1 + DELAYS[1, j] < T:
                expected[int(s + 1 + DELAYS[1, j])] = True
    np.testing.assert_array_equal(fast[:, 1] > 0, expected)


def test_clopath_lazy_bounds(run1):
    """At period ends the lazy form respects the bounds like the literal one: w >= 0, a weight
    above wMax without LTD is frozen, and a weight that reached wMax stays there."""
    n = run1["numbers"]
    for tag, w0 in (("A", n.w_a), ("B", n.w_b)):
        w = run1["w"][f"clo_lazy_{tag}"][PERIOD_ENDS]
        assert (w >= 0.0).all()
        assert (w[:, 1, 0] == w0[1, 0]).all()
    lit = run1["w"]["clo_lit_A"][PERIOD_ENDS]
    lazy = run1["w"]["clo_lazy_A"][PERIOD_ENDS]
    reached = lit[:, 1, 1:3] >= n.clopath_a.wMax
    assert reached.any(), "the drive must take a weight through wMax inside a period"
    np.testing.assert_allclose(lazy[:, 1, 1:3][reached], lit[:, 1, 1:3][reached], rtol=1e-12)


# --- Vogels ------------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["lit", "fast"])
def test_vogels_matches_hand_computation(run1, variant):
    """Weights after every step and g_Inh delivered equal the event-by-event reference (1e-12)."""
    p = run1["numbers"].vogels
    ref, g, clip_low, clip_high = vogels_reference(p, W_V, VPRE_TIMES, VPOST_FIRE)
    assert clip_low > 0 and clip_high > 0, "the schedule must clip at both hMin and hMax"
    assert (ref == p.hMin).any() and (ref == p.hMax).any()
    np.testing.assert_allclose(run1["w"][f"vog_{variant}"], ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run1["ginh"][variant], g, rtol=1e-12, atol=1e-12)


def test_vogels_first_events_by_hand(run1):
    """Synapse (post 0, pre 0), written out: pre spikes emitted at 10, 11, 12 (arrive 11, 12, 13),
    post 0 fires at 13, 14, 15, 16; no post activity before, so tracePost = 0 at 11-13. Each
    arrival depresses by aPlus*Offset*(1 + w) down to hMin; the post spike at 13 potentiates by
    aPlus*tracePre*(1 + w) up to hMax (the drive clips at both bounds, in both models)."""
    p = run1["numbers"].vogels
    a, off, d = p.aPlus, p.Offset, 1.0 - 1.0 / p.taupre
    clip = lambda w: min(max(w, p.hMin), p.hMax)             # noqa: E731
    expected = {}
    w, tpre = 0.2, 0.0
    for step in (11, 12, 13):                                 # a pre spike arrives ...
        w = clip(w + a * (0.0 - off) * (1 + w))
        tpre = (tpre + 1.0) * d                               # +1, then one decay
        expected[step] = w
    assert expected[12] == p.hMin
    assert tpre == pytest.approx(d + d**2 + d**3, rel=1e-15)
    w = clip(w + a * tpre * (1 + w))                         # ... and post fires at 13
    assert w == p.hMax
    expected[13] = w
    expected[14] = clip(w + a * tpre * d * (1 + w))         # step 14: post again, no arrival
    for variant in ("lit", "fast"):
        got = run1["w"][f"vog_{variant}"][:, 0, 0]
        for step, value in expected.items():
            assert got[step] == pytest.approx(value, rel=1e-12, abs=1e-15), (variant, step)


def test_vogels_fast_equals_literal_bitwise(run1):
    assert np.array_equal(run1["w"]["vog_fast"], run1["w"]["vog_lit"])
    assert np.array_equal(run1["ginh"]["fast"], run1["ginh"]["lit"])


# --- threads -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["published"], indirect=True)
def test_fast_rules_thread_count_invariant(run1, run2):
    """num_threads=2 (OpenMP code path) gives bit-identical trajectories to num_threads=1."""
    generated = "".join(p.read_text() for p in run2["directory"].rglob("proj*.hpp"))
    assert "clopath_step(tid, nt)" in generated and "vogels_step(tid, nt)" in generated
    for name in run1["w"]:
        assert np.array_equal(run2["w"][name], run1["w"][name]), name
