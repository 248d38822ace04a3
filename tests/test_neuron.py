"""AdEx and LGN relay neurons (docs/model.md §2) against an independent numpy integration.

All populations live in one ANNarchy network, compiled once for the module into a directory under
pytest's tmp_path_factory, simulated once for T ms with monitors on every variable.

Step order assumed by the references (ANNarchy 5, dt = 1 ms, explicit Euler), step n:
  1. spikes emitted in step n-1 are delivered: g_Exc += w, g_Inh += w (LGN: g_exc += 30);
  2. every derivative is evaluated from the values at the start of the step (state included),
     then all variables are updated simultaneously (vm += dt*dvm, ..., g_Exc += dt*(-g_Exc/1),
     which empties g_Exc each step); LGN g_exc is then bounded below by EL;
  3. non-ODE assignments in order: Spike = (state == 1), then state counts down;
  4. spike condition (vm > VT and state == 0) on the new values, then reset
     (vm = 29, state = 2, VT = VTMax).
Monitors record the values at the end of each step, so rec[n] is the state after step n, except
the conductances g_*: ANNarchy records those right after step 1 (the value the neuron update uses).

Drive: a SpikeSourceArray cell fires on every step into target 'Exc' with weight c, so g_Exc = c
in every step n >= 1 (g_Exc decays to exactly 0 within each step since tau_gExc = dt). One cell
also gets inhibitory spikes (every 23 ms, weight 0.8) so that g_Inh (tau 10) is exercised.
"""

import numpy as np
import pytest

import ANNarchy as ann

from simulator.network import compile_network
from models.neurons import adex, lgn_relay
from models.parameters import PUBLISHED
from models.variants import variant
from simulator.populations import VectorisedPopulation

T = 1000
DT = 1.0
DRIVE = np.array([1.0, 2.0, 2.5, 4.0, 8.0, 5.0])     # mV/ms into g_Exc; the first two stay silent
INH_CELL, INH_WEIGHT, INH_TIMES = 5, 0.8, list(range(0, T - 1, 23))
LGN_SRC = [[5, 6, 20, 40, 41, 42, 80, 300, 301, 600],
           [3, 50, 51, 200, 998]]

# The equations are written out here from docs/model.md §2 (not imported from models/); their
# numbers come from the model value, and every test runs for the published model and for the
# named variant "perturbed", whose every neuron number differs (tests/test_model.py pins
# PUBLISHED to the specification).
VARIANT = variant("perturbed")
MODELS = {"published": PUBLISHED, "perturbed": VARIANT}


class Numbers:
    """The numbers of one model, under the names of the equations."""

    def __init__(self, model):
        a, lgn = model.adex, model.lgn
        for name in a.PARAMETERS:
            setattr(self, name, getattr(a, name))
        self.peak, self.up, self.down_to = a.spike_peak, a.spike_upstroke, a.spike_downstroke_to
        self.z_jump, self.vt_jump, self.u_init = a.z_jump_offset, a.vt_jump_offset, a.u_mean_init
        self.LGN_EL, self.LGN_VTREST, self.LGN_TAUX, self.LGN_G0 = lgn.EL, lgn.VTrest, lgn.taux, lgn.g_init


def test_the_variant_differs_in_every_number_of_the_neurons():
    """Otherwise the variant's run would not show that the numbers come from the model value."""
    published, perturbed = vars(Numbers(PUBLISHED)), vars(Numbers(VARIANT))
    same = {name for name in published if published[name] == perturbed[name]}
    assert same == {"tau_gExc"}, same           # tau_gExc = dt: g_Exc empties every step (the drive)


@pytest.fixture(scope="module", params=list(MODELS))
def model(request):
    return MODELS[request.param]

ADEX_VARS = ("vm", "vmean", "umeanLTD", "umeanLTP", "xtrace", "wad", "z", "VT", "g_Inh", "Spike", "state")


@pytest.fixture(scope="module")
def sim(tmp_path_factory, model):
    net = ann.Network(dt=DT, seed=1)
    net.config(num_threads=1)
    n = len(DRIVE)
    src = net.create(ann.SpikeSourceArray(spike_times=[[float(s) for s in range(T)]] * n))
    inh = net.create(ann.SpikeSourceArray(spike_times=[float(s) for s in INH_TIMES]))
    plain = net.create(geometry=n, neuron=adex(model).annarchy(), name="AdEx")
    # the same neurons with exp() hoisted out of the update loop (simulator/populations.py)
    vectorised = net.create(VectorisedPopulation(geometry=n, neuron=adex(model).annarchy(), name="AdExVectorised"))
    drive = np.full((n, n), None, dtype=object)
    for i, c in enumerate(DRIVE):
        drive[i, i] = float(c)
    inh_w = np.full((n, 1), None, dtype=object)
    inh_w[INH_CELL, 0] = INH_WEIGHT
    for pop in (plain, vectorised):
        net.connect(src, pop, "Exc").from_matrix(drive)
        net.connect(inh, pop, "Inh").from_matrix(inh_w)

    lsrc = net.create(ann.SpikeSourceArray(spike_times=[[float(s) for s in t] for t in LGN_SRC]))
    lgn = net.create(geometry=len(LGN_SRC), neuron=lgn_relay(model).annarchy(), name="LGN")
    net.connect(lsrc, lgn, "exc").one_to_one(weights=30.0)

    m_adex = net.monitor(plain, list(ADEX_VARS) + ["spike"])
    m_vec = net.monitor(vectorised, list(ADEX_VARS) + ["spike"])
    m_lgn = net.monitor(lgn, ["g_exc", "Spike", "xtrace", "spike"])
    build = tmp_path_factory.mktemp("neuron") / "build"
    compile_network(net, build)
    net.simulate(T)
    generated = "".join(p.read_text() for p in build.rglob("pop*.hpp"))

    def collect(mon, names):
        data = mon.get(list(names) + ["spike"])
        rec = {k: np.asarray(data[k], dtype=np.float64) for k in names}
        rec["spikes"] = [sorted(int(s) for s in data["spike"].get(i, [])) for i in range(rec[names[0]].shape[1])]
        return rec

    return dict(adex=collect(m_adex, ADEX_VARS), vectorised=collect(m_vec, ADEX_VARS),
                lgn=collect(m_lgn, ("g_exc", "Spike", "xtrace")), generated=generated)


def adex_reference(m, in_exc, in_inh):
    """Explicit Euler of the docs/model.md §2 AdEx table with the numbers *m* (``Numbers``);
    in_exc/in_inh[n]: weights delivered in step n."""
    C, gL, EL, DeltaT, tauw, a, b, Isp, tauz = m.C, m.gL, m.EL, m.DeltaT, m.tauw, m.a, m.b, m.Isp, m.tauz
    VTrest, VTMax, tauVT, taux, tauLTD, tauLTP = m.VTrest, m.VTMax, m.tauVT, m.taux, m.tauLTD, m.tauLTP
    taumean, tau_gExc, tau_gInh = m.taumean, m.tau_gExc, m.tau_gInh
    steps, N = in_exc.shape
    vm, vmean = np.full(N, EL), np.zeros(N)
    ud, up = np.full(N, m.u_init), np.full(N, m.u_init)
    x, wad, z, VT = np.zeros(N), np.zeros(N), np.zeros(N), np.full(N, VTrest)
    ge, gi, st = np.zeros(N), np.zeros(N), np.zeros(N)
    rec = {k: np.empty((steps, N)) for k in ADEX_VARS}
    spikes = [[] for _ in range(N)]
    for n in range(steps):
        ge, gi = ge + in_exc[n], gi + in_inh[n]
        gi_seen = gi                             # ANNarchy monitors record g_* right after step 1
        dvm = np.where(st >= 2, m.up,
                       np.where(st == 1, -(vm - m.down_to) + (Isp - (wad + b)) / C + ge - gi,
                                (-gL * (vm - EL) + gL * DeltaT * np.exp((vm - VT) / DeltaT) - wad + z) / C
                                + ge - gi))
        dvmean = (np.maximum(vm - EL, 0.0) ** 2 - vmean) / taumean
        dud, dup = (vm - ud) / tauLTD, (vm - up) / tauLTP
        dx = np.where(st == 1, 1.0 / taux, -x / taux)
        dwad = np.where(st == 2, 0.0, np.where(st == 1, b / tauw, (a * (vm - EL) - wad) / tauw))
        dz = np.where(st == 1, -z + Isp - m.z_jump, -z / tauz)
        dVT = np.where(st == 1, (VTMax - VT) - m.vt_jump, (VTrest - VT) / tauVT)
        dge, dgi = -ge / tau_gExc, -gi / tau_gInh
        vm, vmean, ud, up = vm + DT * dvm, vmean + DT * dvmean, ud + DT * dud, up + DT * dup
        x, wad, z, VT = x + DT * dx, wad + DT * dwad, z + DT * dz, VT + DT * dVT
        ge, gi = ge + DT * dge, gi + DT * dgi
        spike_var = np.where(st == 1, 1.0, 0.0)
        st = np.where(st > 0, st - 1, 0.0)
        fired = (vm > VT) & (st == 0)
        vm, st, VT = np.where(fired, m.peak, vm), np.where(fired, 2.0, st), np.where(fired, VTMax, VT)
        for i in np.flatnonzero(fired):
            spikes[i].append(n)
        for k, v in zip(ADEX_VARS, (vm, vmean, ud, up, x, wad, z, VT, gi_seen, spike_var, st)):
            rec[k][n] = v
    return rec, spikes


@pytest.fixture(scope="module")
def ref(model):
    in_exc = np.tile(DRIVE, (T, 1))
    in_exc[0] = 0.0                              # the first source spike (t = 0) arrives in step 1
    in_inh = np.zeros((T, len(DRIVE)))
    in_inh[np.array(INH_TIMES) + 1, INH_CELL] = INH_WEIGHT
    rec, spikes = adex_reference(Numbers(model), in_exc, in_inh)
    return dict(rec=rec, spikes=spikes)


def test_reference_drive_spans_regimes(ref):
    """Silent, adapting and fast-firing cells: otherwise the comparison would prove little."""
    counts = [len(s) for s in ref["spikes"]]
    assert counts[0] == counts[1] == 0
    assert all(c > 10 for c in counts[2:])
    isi = np.diff(ref["spikes"][2])
    assert isi[-1] > isi[0] + 20                 # spike-frequency adaptation


def test_adex_voltage_trace_matches_reference(sim, ref):
    np.testing.assert_allclose(sim["adex"]["vm"], ref["rec"]["vm"], rtol=1e-9, atol=0)


@pytest.mark.parametrize("var", [v for v in ADEX_VARS if v != "vm"])
def test_adex_other_variables_match_reference(sim, ref, var):
    np.testing.assert_allclose(sim["adex"][var], ref["rec"][var], rtol=1e-9, atol=1e-12, err_msg=var)


def test_adex_spike_times_and_rates(sim, ref):
    assert sim["adex"]["spikes"] == ref["spikes"]
    rates = [1000.0 * len(s) / T for s in sim["adex"]["spikes"]]
    assert rates == [1000.0 * len(s) / T for s in ref["spikes"]]


def test_adex_spike_shape(sim, model):
    """After a spike at step t: vm = 29 at t, 29 + 3.462 at t+1, the state-1 formula at t+2;
    VT = VTMax at t, one relaxation step at t+1, VTMax - 0.4 at t+2, then geometric decay to
    VTrest with factor (1 - dt/tauVT); Spike = 1 at t+2 only; z = Isp - 10 at t+2 (the
    published numbers; the variant's own)."""
    m = Numbers(model)
    C, b, Isp, tauw, taux, VTrest, VTMax, tauVT = m.C, m.b, m.Isp, m.tauw, m.taux, m.VTrest, m.VTMax, m.tauVT
    rec = sim["adex"]
    n_checked = 0
    for i, times in enumerate(sim["adex"]["spikes"]):
        vm, VT, S, wad, z, x = (rec[k][:, i] for k in ("vm", "VT", "Spike", "wad", "z", "xtrace"))
        expected_spike = np.zeros(T)
        for t in times:
            if t + 2 < T:
                expected_spike[t + 2] = 1.0
        np.testing.assert_array_equal(S, expected_spike)
        for t, t_next in zip(times, times[1:] + [T]):
            if t + 3 >= t_next or t + 3 >= T:
                continue
            g_exc, g_inh = DRIVE[i], rec["g_Inh"][t + 2, i]      # recorded as used in step t+2
            assert vm[t] == m.peak and VT[t] == VTMax
            assert vm[t + 1] == pytest.approx(m.peak + m.up, rel=1e-14)
            assert VT[t + 1] == pytest.approx(VTMax + (VTrest - VTMax) / tauVT, rel=1e-14)
            assert vm[t + 2] == pytest.approx(m.down_to + (Isp - (wad[t + 1] + b)) / C + g_exc - g_inh, rel=1e-12)
            assert VT[t + 2] == pytest.approx(VTMax - m.vt_jump, rel=1e-14)
            assert z[t + 2] == pytest.approx(Isp - m.z_jump, rel=1e-14)
            assert wad[t + 1] == wad[t] and wad[t + 2] == pytest.approx(wad[t + 1] + b / tauw, rel=1e-14)
            assert x[t + 2] == pytest.approx(x[t + 1] + 1.0 / taux, rel=1e-14)
            k = np.arange(t + 2, t_next)
            np.testing.assert_allclose(VT[k], VTrest + (VTMax - m.vt_jump - VTrest) * (1 - DT / tauVT) ** (k - t - 2),
                                       rtol=1e-12)
            n_checked += 1
    assert n_checked > 100


def test_vectorised_population_is_bit_identical(sim):
    """exp() hoisted into its own loop (so that the update loop vectorises) changes no bit."""
    assert "LibmExp::exp_in_place(_exp_0.data(), size);" in sim["generated"], "the exponential was not hoisted"
    assert "_fires[i] = (" in sim["generated"], "the spike condition was not hoisted"
    for var in ADEX_VARS:
        np.testing.assert_array_equal(sim["vectorised"][var], sim["adex"][var], err_msg=var)
    assert sim["vectorised"]["spikes"] == sim["adex"]["spikes"]


def test_lgn_relay(sim, model):
    """LGN spikes exactly one step after each source spike; Spike = 1 on the step after each
    LGN spike; xtrace: += dt/taux on that step, else += -dt*xtrace/taux; g_exc held at EL."""
    m = Numbers(model)
    LGN_TAUX, LGN_EL = m.LGN_TAUX, m.LGN_EL
    rec = sim["lgn"]
    for j, src in enumerate(LGN_SRC):
        expected = [s + 1 for s in src if s + 1 < T]
        assert rec["spikes"][j] == expected
        spike = np.zeros(T)
        spike[[s + 1 for s in expected if s + 1 < T]] = 1.0
        np.testing.assert_array_equal(rec["Spike"][:, j], spike)
        x, xs = 0.0, np.empty(T)
        for n in range(T):
            x = x + DT / LGN_TAUX if spike[n] else x - DT * x / LGN_TAUX
            xs[n] = x
        np.testing.assert_allclose(rec["xtrace"][:, j], xs, rtol=1e-12, atol=1e-300)
        # g_exc (recorded after spike delivery, see the module docstring): initial -70.6, then
        # EL (bounded below by EL, reset to EL) plus 30 on each step that relays a spike.
        g = np.full(T, LGN_EL)
        g[expected] += 30.0
        g[0] = m.LGN_G0
        np.testing.assert_array_equal(rec["g_exc"][:, j], g)
    # Closed form after the isolated source spike at 3 (LGN spike 4, Spike 5, next Spike 52).
    k = np.arange(0, 47)
    np.testing.assert_allclose(rec["xtrace"][5 + k, 1], (1 / LGN_TAUX) * (1 - 1 / LGN_TAUX) ** k, rtol=1e-12)
    assert (rec["xtrace"][:5, 1] == 0.0).all()


# --- a finer step: the same spike, integrated at dt = 0.5 ms ------------------------------------

def test_spike_is_the_same_at_half_a_millisecond(compile_net):
    """At dt = 0.5 ms the spike keeps its shape in model time (docs/model.md §2): 1 ms of
    upstroke (+3.462 mV/ms), then 1 ms of downstroke with Spike = 1, at whose first step z
    jumps to Isp - 10, VT to VTMax - 0.4 and vm to -51.75; over the downstroke xtrace gains
    1/taux and wad b/tauw in all. The LGN relay's Spike lasts 1 ms and adds 1/taux to xtrace."""
    dt, steps, drive = 0.5, 400, 2.0       # drive: g_Exc = 2 drive = 4 mV/ms
    model = PUBLISHED.with_overrides({"dt": dt})
    m = Numbers(model)
    C, b, Isp, tauw, taux, VTMax, LGN_TAUX = m.C, m.b, m.Isp, m.tauw, m.taux, m.VTMax, m.LGN_TAUX
    net = ann.Network(dt=dt, seed=1)
    src = net.create(ann.SpikeSourceArray(spike_times=[[dt * s for s in range(steps)]]))
    cell = net.create(geometry=1, neuron=adex(model).annarchy(), name="AdExHalf")
    net.connect(src, cell, "Exc").one_to_one(weights=drive)
    lsrc = net.create(ann.SpikeSourceArray(spike_times=[[10.0]]))
    relay = net.create(geometry=1, neuron=lgn_relay(model).annarchy(), name="LGNHalf")
    net.connect(lsrc, relay, "exc").one_to_one(weights=30.0)
    m = net.monitor(cell, ["vm", "VT", "z", "wad", "xtrace", "Spike", "g_Exc", "spike"])
    ml = net.monitor(relay, ["Spike", "xtrace", "spike"])
    compile_net(net, "half")
    net.simulate(steps * dt)
    names = ["vm", "VT", "z", "wad", "xtrace", "Spike", "g_Exc"]
    data = m.get(names + ["spike"])
    rec = {k: np.asarray(data[k], dtype=np.float64)[:, 0] for k in names}
    times = sorted(int(t) for t in data["spike"][0])                 # steps of the spikes
    assert len(times) > 3, times
    checked = 0
    for t, t_next in zip(times, times[1:]):
        if t + 5 >= t_next:
            continue
        vm, VT, z, wad, x, S = (rec[k] for k in ("vm", "VT", "z", "wad", "xtrace", "Spike"))
        np.testing.assert_array_equal(S[t:t + 6], [0, 0, 0, 1, 1, 0])     # Spike over the second ms
        assert vm[t] == 29.0 and vm[t + 2] == pytest.approx(29.0 + 3.462, rel=1e-14)
        # the downstroke's currents in step n (g_Exc as recorded, i.e. as used; no inhibition)
        currents = lambda n: (Isp - (wad[n - 1] + b)) / C + rec["g_Exc"][n]   # noqa: E731
        assert vm[t + 3] == pytest.approx(-51.75 + dt * currents(t + 3), rel=1e-12)
        assert vm[t + 4] == pytest.approx(vm[t + 3] + dt * currents(t + 4), rel=1e-12)
        assert z[t + 3] == z[t + 4] == pytest.approx(Isp - 10.0, rel=1e-14)
        assert VT[t + 3] == VT[t + 4] == pytest.approx(VTMax - 0.4, rel=1e-14)
        assert wad[t + 4] - wad[t + 2] == pytest.approx(b / tauw, rel=1e-9)
        assert x[t + 4] == pytest.approx(x[t + 2] + 1.0 / taux, rel=1e-12)
        checked += 1
    assert checked > 3, times
    lgn_data = ml.get(["Spike", "xtrace"])
    lgn = {k: np.asarray(lgn_data[k], dtype=np.float64)[:, 0] for k in ("Spike", "xtrace")}
    on = np.flatnonzero(lgn["Spike"])
    assert len(on) == 2 and on[1] == on[0] + 1                          # 1 ms = two steps
    assert lgn["xtrace"][on[1]] == pytest.approx(1.0 / LGN_TAUX, rel=1e-12)
