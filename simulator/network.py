"""Network assembly of either layer (docs/model.md §1, §4, §5), in one place.

``build_network(layer, ...)`` is the one builder: the training command, the
benchmarks, the analysis and the evaluation all get their network from it.
``V1Network`` creates the Poisson input (patch_size x patch_size x 2), the LGN
relay and the populations and projections of a layer description, compiles the
network into its own directory and presents patches. ``models.layers`` says
*which* populations and projections exist; ``rules.make_projection`` creates each
projection with the storage its rule variant needs.
"""
from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from models.neurons import adex, lgn_relay, without_learning_variables
from models.parameters import Model, ProjectionSpec
from rules import VARIANTS, make_projection


def draw_initial_state(model: Model, projections, seed: int, delays: dict | None = None) -> tuple[dict, dict]:
    """Initial weights and delays of *projections*, drawn from their own generator.

    For each projection in order: its delays U(low, high) ms rounded to the model.dt grid
    (unless *delays* gives recorded ones), then its weights U(low, high) (a constant
    where low == high). Returns (name -> (n_post, n_pre) weights, name -> delays in ms
    for the projections with delays). A projection without self-connections gets
    ``None`` on its diagonal (ANNarchy then creates no synapse there). The draws do not
    depend on ANNarchy's internal draw order.
    """
    rng = np.random.default_rng([int(seed), 1])
    recorded = delays or {}
    sizes, dt = model.population_sizes, model.dt

    def draw(spec: ProjectionSpec, bounds):
        n_post, n_pre = sizes[spec.post], sizes[spec.pre]
        low, high = bounds
        matrix = rng.uniform(low, high, size=(n_post, n_pre)) if high > low \
            else np.full((n_post, n_pre), float(low))
        if not spec.self_connections and spec.pre == spec.post:
            matrix = matrix.astype(object)
            np.fill_diagonal(matrix, None)
        return matrix

    weights, delay_ms = {}, {}
    for spec in projections:
        if spec.name in recorded:
            delay_ms[spec.name] = np.rint(np.asarray(recorded[spec.name], dtype=np.float64) / dt) * dt
        elif spec.delay is not None:
            delay_ms[spec.name] = np.rint(draw(spec, spec.delay).astype(float) / dt) * dt
        weights[spec.name] = draw(spec, spec.w_init)
    return weights, delay_ms


@contextlib.contextmanager
def _compile_environment(annarchy_flags=()):
    """What ANNarchy's compilation needs from the process, for the time of the compile.

    * CMake looks up ``python3`` on PATH and needs ``nanobind`` in it: with a virtual
      environment that is not activated, PATH leads to another interpreter and the
      build fails ("CMake generation failed"). The running interpreter goes first.
    * ANNarchy re-reads ``sys.argv`` when compiling (``--clean``, ``-j``, ...): it sees
      only *annarchy_flags*, never the caller's own options.
    """
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[0] != bindir:
        os.environ["PATH"] = bindir + os.pathsep + path
    saved = sys.argv
    sys.argv = [saved[0] if saved else "v1"] + list(annarchy_flags)
    try:
        yield
    finally:
        sys.argv = saved


def compile_network(net, directory, *, annarchy_flags=(), profile: bool = False) -> None:
    """Compile an ANNarchy network into *directory* (created) from any interpreter."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    with _compile_environment(annarchy_flags):
        net.compile(directory=str(directory), silent=True, profile_enabled=profile)


class V1Network:
    """One compiled ANNarchy network of a model.

    :param model: the model value (``models.parameters.Model``): step, input, neurons.
    :param populations: name -> size of the AdEx populations of the layer
        (the input "P" and "LGN" are always created).
    :param projections: ``ProjectionSpec``s; ``rule=None`` makes a static projection.
    :param variant: "fast" (default) or "literal" form of the learning rules.
    :param seed: seed of ANNarchy's generators and of the initial weights.
    :param num_threads: OpenMP threads of the simulation kernel.
    :param build_dir: compile directory of this network (never shared by two layers).
    :param delays: recorded axonal delays (name -> (n_post, n_pre) ms) used instead of
        drawing them, e.g. those of a trained layer-2/3 run.
    :param learning_variables: the neurons compute the variables only the learning rules
        read (``models.neurons.LEARNING_VARIABLES``). Default: when a projection learns; a
        network that does not learn spikes the same without them, with less work.
    """

    def __init__(self, model: Model, populations: dict, projections, *, variant="fast", seed=0, num_threads=1,
                 build_dir, delays: dict | None = None, annarchy_flags=(), profile=False,
                 learning_variables: bool | None = None):
        import ANNarchy as ann
        from simulator.poisson_input import PatchPoissonPopulation
        from simulator.populations import VectorisedPopulation
        from simulator.relay import RelayProjection

        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r} (one of {', '.join(VARIANTS)})")
        self.model = model
        self.variant = variant
        self.seed = int(seed)
        self.num_threads = int(num_threads)
        self.build_dir = Path(build_dir)
        self.specs = {spec.name: spec for spec in projections}
        # The fast Clopath projections bring every weight up to date at the end of
        # each presentation; weights are read only at those boundaries.
        self.steps_per_patch = model.steps_per_patch
        self.net = ann.Network(dt=model.dt, seed=self.seed)
        self.net.config(num_threads=self.num_threads)

        if learning_variables is None:
            learning_variables = any(spec.rule is not None for spec in projections)
        relay, cell = lgn_relay(model), adex(model)
        if not learning_variables:
            relay, cell = without_learning_variables(relay), without_learning_variables(cell)
        geometry = (model.input.patch_size, model.input.patch_size, 2)
        self.pops = {
            "P": self.net.create(PatchPoissonPopulation(geometry=geometry)),
            "LGN": self.net.create(VectorisedPopulation(geometry=geometry, neuron=relay.annarchy(), name="LGN")),
        }
        for name, size in populations.items():
            # ANNarchy's AdEx code with exp() in a loop of its own: vectorised, same values
            self.pops[name] = self.net.create(VectorisedPopulation(geometry=size, neuron=cell.annarchy(), name=name))
        RelayProjection(self.pops["P"], self.pops["LGN"], "exc", net_id=self.net.id).one_to_one(
            weights=model.lgn.input_weight)

        weights, self.delays = draw_initial_state(model, projections, self.seed, delays)
        self.projs = {
            spec.name: make_projection(self.net, self.pops[spec.pre], self.pops[spec.post], spec.target,
                                       spec.rule, variant, weights[spec.name],
                                       delays=self.delays.get(spec.name), name=spec.name,
                                       flush_period=self.steps_per_patch, timers=profile)
            for spec in projections}
        self._annarchy_flags = list(annarchy_flags)
        self._profile = profile

    def section_times(self) -> dict:
        """Seconds per kernel section of every fast projection (built with profile=True)."""
        return {name: proj.section_times() for name, proj in self.projs.items()
                if hasattr(proj, "section_times") and proj.section_times()}

    def compile(self) -> "V1Network":
        from simulator.state import add_state_access
        # C++ accessors for the simulation state (checkpoints); no effect on the run.
        add_state_access(self.pops, self.projs, rng_population="P")
        compile_network(self.net, self.build_dir, annarchy_flags=self._annarchy_flags, profile=self._profile)
        for pop in self.pops.values():
            if hasattr(pop.cyInstance, "save_initial"):
                pop.cyInstance.save_initial()
        return self

    def reset_to_initial(self, seed: int) -> None:
        """The state of a fresh network (every neuron variable at its initial value, no spike
        in flight), weights unchanged, and the Poisson generator seeded with *seed*: the start
        of one independent presentation (the evaluation protocol)."""
        for pop in self.pops.values():
            pop.cyInstance.restore_initial()
        for proj in self.projs.values():
            if hasattr(proj.cyInstance, "clear_delayed_spikes"):
                proj.cyInstance.clear_delayed_spikes()
            if getattr(proj, "learns", False):
                raise RuntimeError(f"{proj.name}: reset_to_initial is for networks without plasticity")
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Seed the Poisson input's generators (ANNarchy's; one per thread) with *seed*."""
        self.pops["P"].cyInstance.reseed(int(seed) % 2**32)

    # -- state access ---------------------------------------------------------------
    def weights(self, name) -> np.ndarray:
        """Weights of a projection as (n_post, n_pre), self-connections omitted."""
        self._check_patch_boundary()
        return np.asarray(self.projs[name].w, dtype=np.float64)

    def _check_patch_boundary(self):
        step = self.net.current_step
        if self.variant == "fast" and step % self.steps_per_patch:
            raise RuntimeError(f"weights of the fast variant are current only between patches "
                               f"(every {self.steps_per_patch} steps); now at step {step}")

    def set_weights(self, name, matrix) -> None:
        self._check_patch_boundary()
        matrix = np.asarray(matrix, dtype=np.float64)
        expected = self.model.projection_shape(self.specs[name])
        if matrix.shape != expected:
            raise ValueError(f"{name}: weight matrix of shape {matrix.shape}, expected {expected}")
        self.projs[name].w = matrix

    # -- simulation -------------------------------------------------------------------
    def present(self, rates: np.ndarray, duration: float | None = None) -> None:
        """Show one patch: set the Poisson rates (Hz, shape (ps, ps, 2)) and simulate
        (for the model's presentation time unless *duration* is given)."""
        self.pops["P"].rates = rates
        self._simulate(self.model.input.presentation_ms if duration is None else duration)

    def _simulate(self, duration) -> None:
        # Subnormal numbers flushed to zero while the kernel runs (simulator.poisson_input).
        with self.pops["P"].flush_subnormals():
            self.net.simulate(duration)

    def present_many(self, rates: np.ndarray) -> None:
        """Show consecutive patches (rates of shape (k, ps, ps, 2), Hz) in one ``simulate``.

        The kernel switches the rates at the first step of each patch
        (``simulator.poisson_input``): the same spikes as k calls of ``present``.
        """
        rates = np.asarray(rates, dtype=np.float64)
        if rates.ndim != 4 or rates.shape[1:] != tuple(self.pops["P"].geometry):
            raise ValueError(f"expected rates of shape (k, {', '.join(map(str, self.pops['P'].geometry))}), "
                             f"got {rates.shape}")
        self.pops["P"].queue(rates, self.steps_per_patch)
        self._simulate(len(rates) * self.steps_per_patch * self.model.dt)
        left = self.pops["P"].queued_patches_left()
        if left:
            raise RuntimeError(f"{left} queued patches were not presented")

    def present_from_initial(self, rates: np.ndarray, seeds, *, restore: bool = True) -> dict:
        """Independent presentations in one ``simulate`` call: spike counts per presentation.

        Presentation k shows rates[k] (Hz, shape (ps, ps, 2)) for one patch duration, from the
        network's initial state when *restore* (else from where the last one ended) and with
        the Poisson generator seeded with seeds[k]: the kernel does at the first step of each
        what ``reset_to_initial(seeds[k])`` (or ``reseed``) and ``present(rates[k])`` do from
        Python, with the same spikes. Returns population name -> (k, cells) spike counts of
        every population but the input.
        """
        rates = np.asarray(rates, dtype=np.float64)
        if rates.ndim != 4 or rates.shape[1:] != tuple(self.pops["P"].geometry) or len(rates) != len(seeds):
            raise ValueError(f"expected rates of shape (k, {self.model.input.patch_size}, "
                             f"{self.model.input.patch_size}, 2) and k seeds, "
                             f"got {rates.shape} and {len(seeds)}")
        steps, n = self.steps_per_patch, len(rates)
        if restore:
            for proj in self.projs.values():
                if getattr(proj, "learns", False):
                    raise RuntimeError(f"{proj.name}: presentations from the initial state are for networks "
                                       "without plasticity")
                if hasattr(proj.cyInstance, "clear_delayed_spikes"):
                    if not hasattr(proj.cyInstance, "clear_at_presentations"):
                        raise RuntimeError(f"{proj.name}: its spikes in flight are cleared only from Python "
                                           "(reset_to_initial)")
                    proj.cyInstance.clear_at_presentations(n, steps)
        counted = {name: pop for name, pop in self.pops.items() if name != "P"}
        for pop in counted.values():
            pop.cyInstance.present_from_initial(n, steps, bool(restore))
        self.pops["P"].queue_presentations(rates, seeds, steps, restore)
        self._simulate(n * steps * self.model.dt)
        left = self.pops["P"].queued_patches_left()
        counts = {name: np.asarray(pop.cyInstance.presentation_counts(), dtype=np.int64).reshape(n, pop.size)
                  for name, pop in counted.items()}
        if left:
            raise RuntimeError(f"{left} queued presentations were not presented")
        return counts


def build_network(layer, *, build_dir, variant: str = "fast", seed: int = 0, num_threads: int = 1,
                  static: bool = False, delays: dict | None = None, weights: dict | None = None,
                  annarchy_flags=(), profile: bool = False, learning_variables: bool | None = None) -> V1Network:
    """The network of a layer (``models.layers.LayerSpec``, with its model), compiled into *build_dir*.

    :param static: every projection static (no learning): the network of a snapshot.
    :param delays: recorded delays (name -> ms) instead of drawn ones.
    :param weights: name -> (n_post, n_pre) matrices loaded after compiling (a trained
        layer 4 under layer 2/3, or every projection of a snapshot).
    :param learning_variables: see ``V1Network`` (default: only when something learns).
    """
    spec = layer.static() if static else layer
    network = V1Network(layer.model, dict(spec.populations), spec.projections, variant=variant, seed=seed,
                        num_threads=num_threads, build_dir=build_dir, delays=delays,
                        annarchy_flags=annarchy_flags, profile=profile, learning_variables=learning_variables)
    network.compile()
    for name, matrix in (weights or {}).items():
        network.set_weights(name, matrix)
    return network
