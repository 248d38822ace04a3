"""The Poisson input of the model, with the rates of many patches queued in C++.

``PatchPoissonPopulation`` is ANNarchy's ``PoissonPopulation`` (docs/model.md §1:
every step, p = Uniform(0, 1) * 1000 / dt and a spike when p < rate) with one
addition: a queue of rate vectors, one per patch, that the kernel itself puts
into ``rates`` at the first step of each patch. A block of patches then needs
one ``simulate`` call instead of one per patch, without Python in between.

The random draws, their order and the spike condition are ANNarchy's generated
code unchanged, and the rates of a patch are in place at exactly the step where
setting them from Python before ``simulate`` would put them: a block of patches
gives the same spikes, bit for bit, as the same patches shown one by one
(``tests/test_poisson_input.py``).

Independent presentations (the evaluation): ``queue_presentations`` queues a
seed with every patch's rates; at the first step of each patch, before the
step's draws, the kernel seeds ANNarchy's generators with it (as ``reseed``)
and, when asked, puts the population back to its initial state. On one thread
the draws of these presentations then come from ``cpp/mt19937_block.hpp``,
which computes the numbers of ANNarchy's ``std::mt19937`` and
``std::uniform_real_distribution`` 624 generator outputs at a time, about 7
times faster (the same spikes: ``tests/test_poisson_input.py`` checks them
against numpy's MT19937). ANNarchy's own generators are then left as seeded.

Subnormal numbers. The variables of a silent cell (traces, conductances, the
after-potential current) decay geometrically towards 0 and end below 2.2e-308,
where x86 processors compute up to a hundred times slower, on every step, for
as long as the cell stays silent. Layer 4 ran 1.5-1.7x faster with them flushed
to zero. ``flush_subnormals`` (used by ``V1Network`` around every ``simulate``)
sets the processor's flush-to-zero and denormals-are-zero modes for the
simulation and restores the caller's mode afterwards; the population's update
sets them again in every thread at every step, so all threads compute alike
from the first step. It changes values of order 1e-308 only (a decaying variable
stops at the smallest normal number, 2.2e-308, instead of creeping through the
subnormal range): a 400-patch run gave identical rates and weights equal to
2.2e-320. On processors other than x86 it does nothing.
"""
from contextlib import contextmanager
from pathlib import Path

import ANNarchy as ann
import numpy as np

# C++ of the queue and of the population's update (ANNarchy 5.0.x internals named in each file).
_CPP = Path(__file__).resolve().parent / "cpp"
_DECLARE = (_CPP / "mt19937_block.hpp").read_text() + (_CPP / "poisson_queue.hpp").read_text()
_UPDATE_ST = (_CPP / "poisson_update_st.inc").read_text()
_UPDATE_OMP = (_CPP / "poisson_update_omp.inc").read_text()
_FUNCTIONS = ("queue_rates", "queue_presentations", "queued_patches_left", "fp_begin", "fp_end",
              "restore_initial", "reseed")                           # bodies in poisson_queue.hpp


class PatchPoissonPopulation(ann.PoissonPopulation):
    """Poisson population whose rates can be queued patch by patch (see module docstring).

    Use ``queue(rates_per_patch, steps_per_patch)`` and then simulate exactly
    ``len(rates_per_patch) * steps_per_patch`` steps. Setting ``rates`` directly
    works as for a ``PoissonPopulation``. Simulate inside ``flush_subnormals()``
    (as ``simulator.network.V1Network`` does): a bare ``net.simulate()`` leaves flush-to-zero set in
    the calling thread.
    """

    def __init__(self, geometry, name=None, copied=False, net_id=0):
        super().__init__(geometry, name=name, rates=0.0, copied=copied, net_id=net_id)
        self.neuron_type.description["functions"] += [{"name": n, "cpp": ""} for n in _FUNCTIONS]

    def _copy(self, net_id=None):
        return PatchPoissonPopulation(self.geometry, name=self.name, copied=True,
                                      net_id=self.net_id if net_id is None else net_id)

    def _install(self, generator, update: str, parallel: bool) -> None:
        from simulator.populations import hoist_spike_condition
        self._specific_template.pop("update_rng", None)
        self._specific_template.pop("spike_gather_code", None)
        draws = generator(None, self.net_id)._update_random_distributions(self)   # ANNarchy's own
        declarations = ""
        if not parallel:        # the spike condition of every cell first (simulator/populations.py)
            gather, declarations = hoist_spike_condition(generator(None, self.net_id)._spike_gather(self), self.size)
            self._specific_template["spike_gather_code"] = gather
        if parallel:
            code = "\n        #pragma omp single\n        { presentation_start(); }\n" + draws
        else:       # the same numbers from the block generator, in presentations the kernel seeds
            code = ("\n        presentation_start();\n        if (_block_draws) {\n"
                    "            if (_active) _block_rng.uniform(rand_0.data(), size);\n"
                    "        } else {\n" + draws + "\n        }\n")
        self._specific_template["update_rng"] = code
        self._specific_template["declare_additional"] = _DECLARE + declarations
        self._specific_template["update_variables"] = update

    def _generate_st(self):
        from ANNarchy.generator.Population.SingleThreadGenerator import SingleThreadGenerator
        self._install(SingleThreadGenerator, _UPDATE_ST, parallel=False)

    def _generate_omp(self):
        from ANNarchy.generator.Population.OpenMPGenerator import OpenMPGenerator
        self._install(OpenMPGenerator, _UPDATE_OMP, parallel=True)

    def _generate_cuda(self):
        raise NotImplementedError("PatchPoissonPopulation has no CUDA version")

    def queue(self, rates_per_patch, steps_per_patch: int) -> None:
        """Queue the rates (Hz) of consecutive patches, shape (n_patches, *geometry)."""
        rates = np.ascontiguousarray(rates_per_patch, dtype=np.float64).reshape(-1, self.size)
        self.cyInstance.queue_rates(rates.ravel(), len(rates), int(steps_per_patch))

    def queue_presentations(self, rates_per_patch, seeds, steps_per_patch: int, restore: bool) -> None:
        """Queue independent presentations: the rates of each (as ``queue``) and its seed, with
        which the kernel seeds the generators (as ``reseed``) before the presentation's first
        draw, after putting the population back to its initial state when *restore*."""
        rates = np.ascontiguousarray(rates_per_patch, dtype=np.float64).reshape(-1, self.size)
        seeds = [int(s) % 2**32 for s in seeds]
        if len(seeds) != len(rates):
            raise ValueError(f"{len(rates)} presentations and {len(seeds)} seeds")
        self.cyInstance.queue_presentations(rates.ravel(), seeds, int(steps_per_patch), bool(restore))

    def queued_patches_left(self) -> int:
        return int(self.cyInstance.queued_patches_left())

    @contextmanager
    def flush_subnormals(self):
        """Flush subnormal numbers to zero in the calling thread while in the block."""
        saved = self.cyInstance.fp_begin()
        try:
            yield
        finally:
            self.cyInstance.fp_end(saved)
