"""Network assembly shared by layer 4 and layer 2/3 (MODEL_SPEC sections 1, 4, 5).

``V1Network`` creates the Poisson input (PATCH_SIZE x PATCH_SIZE x 2), the LGN
relay and the populations and projections of a layer description, compiles
the network into its own directory and presents patches. The layer modules
(``models.layer4``, ``models.layer23``) only say *which* populations and
projections exist; everything else is here, in one place.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.annarchy_env import annarchy_argv, prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402

from models import parameters as P  # noqa: E402
from models.neurons import AdExNeuron, LGNNeuron  # noqa: E402
from models.parameters import ClopathParams, ProjectionSpec, VogelsParams  # noqa: E402
from models.poisson_input import PatchPoissonPopulation  # noqa: E402
from rules import FastClopathProjection, FastVogelsProjection, clopath_synapse, vogels_synapse  # noqa: E402



class V1Network:
    """One compiled ANNarchy network of the model.

    :param populations: name -> size of the AdEx populations of the layer
        (the input "P" and "LGN" are always created).
    :param projections: ``ProjectionSpec``s; ``rule=None`` makes a static (frozen) projection.
    :param variant: "fast" (default) or "literal" form of the learning rules.
    :param seed: seed of ANNarchy's generators and of the initial weights.
    :param num_threads: OpenMP threads of the simulation kernel.
    :param build_dir: compile directory of this network (never shared by two layers).
    """

    def __init__(self, populations: dict, projections, *, variant="fast", seed=0, num_threads=1,
                 build_dir, annarchy_flags=(), profile=False):
        if variant not in ("fast", "literal"):
            raise ValueError(f"unknown variant {variant!r} (fast or literal)")
        self.variant = variant
        self.seed = int(seed)
        self.num_threads = int(num_threads)
        self.build_dir = Path(build_dir)
        self.specs = {spec.name: spec for spec in projections}
        # The fast Clopath projections bring every weight up to date at the end of
        # each presentation; weights are read only at those boundaries.
        self.steps_per_patch = int(round(P.PRESENTATION_MS / P.DT))
        self.net = ann.Network(dt=P.DT, seed=self.seed)
        self.net.config(num_threads=self.num_threads)
        # Initial weights and delays come from their own generator so that they
        # do not depend on ANNarchy's internal draw order.
        self._init_rng = np.random.default_rng([self.seed, 1])

        self.pops = {
            "P": self.net.create(PatchPoissonPopulation(geometry=(P.PATCH_SIZE, P.PATCH_SIZE, 2))),
            "LGN": self.net.create(geometry=(P.PATCH_SIZE, P.PATCH_SIZE, 2), neuron=LGNNeuron, name="LGN"),
        }
        for name, size in populations.items():
            self.pops[name] = self.net.create(geometry=size, neuron=AdExNeuron, name=name)
        relay = self.net.connect(self.pops["P"], self.pops["LGN"], "exc")
        relay.one_to_one(weights=P.LGN_WEIGHT)

        self.delays = {}   # projection name -> (n_post, n_pre) delays in ms, where non-zero
        self.projs = {spec.name: self._connect(spec) for spec in projections}
        self._annarchy_flags = list(annarchy_flags)
        self._profile = profile

    # -- assembly -----------------------------------------------------------------
    def _connect(self, spec: ProjectionSpec):
        pre, post = self.pops[spec.pre], self.pops[spec.post]
        rule = spec.rule
        if rule is None:
            proj = self.net.connect(pre, post, spec.target, name=spec.name)
        elif self.variant == "fast" and isinstance(rule, ClopathParams):
            proj = FastClopathProjection(pre, post, spec.target, rule, self.steps_per_patch,
                                         name=spec.name, net_id=self.net.id)
        elif self.variant == "fast" and isinstance(rule, VogelsParams):
            proj = FastVogelsProjection(pre, post, spec.target, rule, name=spec.name, net_id=self.net.id)
        elif isinstance(rule, ClopathParams):
            proj = self.net.connect(pre, post, spec.target, synapse=clopath_synapse(rule), name=spec.name)
        else:
            proj = self.net.connect(pre, post, spec.target, synapse=vogels_synapse(rule), name=spec.name)

        delays = self._delays(spec)
        if spec.delay is not None:
            self.delays[spec.name] = delays
        # Dense storage (contiguous rows) everywhere except with non-uniform delays,
        # which ANNarchy supports only in LIL.
        storage = "lil" if spec.delay is not None else "dense"
        # The fast Clopath kernel works column by column (one presynaptic cell at a
        # time): store its dense matrices pre-major so that a column is contiguous.
        order = "pre_to_post" if (storage == "dense" and isinstance(proj, FastClopathProjection)) else None
        proj.from_matrix(self._draw_matrix(spec, spec.w_init), delays=delays, storage_format=storage,
                         storage_order=order)
        return proj

    def _draw_matrix(self, spec: ProjectionSpec, bounds):
        """Full (n_post, n_pre) matrix drawn uniformly in *bounds*; None on the diagonal
        of a projection without self-connections (ANNarchy then creates no synapse)."""
        n_post, n_pre = P.POPULATION_SIZES[spec.post], P.POPULATION_SIZES[spec.pre]
        low, high = bounds
        matrix = self._init_rng.uniform(low, high, size=(n_post, n_pre)) if high > low \
            else np.full((n_post, n_pre), float(low))
        if not spec.self_connections and spec.pre == spec.post:
            matrix = matrix.astype(object)
            np.fill_diagonal(matrix, None)
        return matrix

    def _delays(self, spec: ProjectionSpec):
        """Axonal delays in whole steps: U(low, high) ms rounded to the 1-ms grid."""
        if spec.delay is None:
            return 0.0
        return np.rint(self._draw_matrix(spec, spec.delay).astype(float) / P.DT) * P.DT

    def compile(self):
        from models.checkpoint import add_state_access
        # C++ accessors for checkpoints (spikes in flight, random generators); no effect on the run.
        add_state_access(self.pops, self.projs, rng_population="P")
        self.build_dir.mkdir(parents=True, exist_ok=True)
        with annarchy_argv(self._annarchy_flags):
            self.net.compile(directory=str(self.build_dir), silent=True, profile_enabled=self._profile)
        return self

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
        expected = P.projection_shape(self.specs[name])
        if matrix.shape != expected:
            raise ValueError(f"{name}: weight matrix of shape {matrix.shape}, expected {expected}")
        self.projs[name].w = matrix

    # -- simulation -------------------------------------------------------------------
    def present(self, rates: np.ndarray, duration=P.PRESENTATION_MS) -> None:
        """Show one patch: set the Poisson rates (Hz, shape (ps, ps, 2)) and simulate."""
        self.pops["P"].rates = rates
        self._simulate(duration)

    def _simulate(self, duration) -> None:
        # Subnormal numbers flushed to zero while the kernel runs (models.poisson_input).
        with self.pops["P"].flush_subnormals():
            self.net.simulate(duration)

    def present_many(self, rates: np.ndarray) -> None:
        """Show consecutive patches (rates of shape (k, ps, ps, 2), Hz) in one ``simulate``.

        The kernel switches the rates at the first step of each patch
        (``models.poisson_input``): the same spikes as k calls of ``present``.
        """
        rates = np.asarray(rates, dtype=np.float64)
        if rates.ndim != 4 or rates.shape[1:] != tuple(self.pops["P"].geometry):
            raise ValueError(f"expected rates of shape (k, {P.PATCH_SIZE}, {P.PATCH_SIZE}, 2), got {rates.shape}")
        self.pops["P"].queue(rates, self.steps_per_patch)
        self._simulate(len(rates) * self.steps_per_patch * P.DT)
        left = self.pops["P"].queued_patches_left()
        if left:
            raise RuntimeError(f"{left} queued patches were not presented")
