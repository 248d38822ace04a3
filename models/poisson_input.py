"""The Poisson input of the model, with the rates of many patches queued in C++.

``PatchPoissonPopulation`` is ANNarchy's ``PoissonPopulation`` (MODEL_SPEC 1:
every step, p = Uniform(0, 1) * 1000 / dt and a spike when p < rate) with one
addition: a queue of rate vectors, one per patch, that the kernel itself puts
into ``rates`` at the first step of each patch. A block of patches then needs
one ``simulate`` call instead of one per patch, without Python in between.

The random draws, their order and the spike condition are ANNarchy's generated
code unchanged, and the rates of a patch are in place at exactly the step where
setting them from Python before ``simulate`` would put them: a block of patches
gives the same spikes, bit for bit, as the same patches shown one by one
(``tests/test_pipeline.py``).
"""
from models.annarchy_env import prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402

# Queue state in the generated population. Rows of _queue are patches (size values each);
# the row _queue_pos is loaded at step _queue_next_t, the next one _queue_steps later.
_DECLARE = """
    // Rates of queued patches (models/poisson_input.py)
    std::vector<double> _queue;
    int _queue_left = 0, _queue_pos = 0, _queue_steps = 1;
    long int _queue_next_t = 0;
"""

_FUNCTIONS = [
    {"name": "queue_rates", "cpp": """void queue_rates(std::vector<double> flat, int n_patches, int steps_per_patch) {
        _queue = flat;
        _queue_left = n_patches;
        _queue_pos = 0;
        _queue_steps = steps_per_patch;
        _queue_next_t = t;      // the first patch starts with the next step
    }"""},
    {"name": "queued_patches_left", "cpp": "int queued_patches_left() { return _queue_left; }"},
]

# update(): ANNarchy's generated statement for p, preceded by the load of the next
# queued patch. Single thread:
_UPDATE_ST = """
        if( _active ) {
            if (_queue_left > 0 && t == _queue_next_t) {
                std::copy(_queue.begin() + (size_t)_queue_pos * size,
                          _queue.begin() + (size_t)(_queue_pos + 1) * size, rates.begin());
                _queue_pos++; _queue_left--; _queue_next_t += _queue_steps;
            }

            // Updating local variables
            #pragma omp simd
            for(int i = 0; i < size; i++){
                // p = Uniform(0.0, 1.0) * 1000.0 / dt
                p[i] = 1000.0*rand_0[i]/dt;
            }
        } // active
"""

# OpenMP: every thread loads its share of the rates inside the worksharing loop;
# the loop's closing barrier comes before the counters move on (and before
# spike_gather reads the rates).
_UPDATE_OMP = """
        if( _active ) {
            const bool load = _queue_left > 0 && t == _queue_next_t;
            const double *row = load ? _queue.data() + (size_t)_queue_pos * size : nullptr;

            // Updating local variables
            #pragma omp for simd
            for (int i = 0; i < size; i++) {
                if (load) rates[i] = row[i];
                // p = Uniform(0.0, 1.0) * 1000.0 / dt
                p[i] = 1000.0*rand_0[i]/dt;
            }
            if (load) {
                #pragma omp single
                { _queue_pos++; _queue_left--; _queue_next_t += _queue_steps; }
            }
        } // active
"""


class PatchPoissonPopulation(ann.PoissonPopulation):
    """Poisson population whose rates can be queued patch by patch (see module docstring).

    Use ``queue(rates_per_patch, steps_per_patch)`` and then simulate exactly
    ``len(rates_per_patch) * steps_per_patch`` steps. Setting ``rates`` directly
    works as for a ``PoissonPopulation``.
    """

    def __init__(self, geometry, name=None, copied=False, net_id=0):
        super().__init__(geometry, name=name, rates=0.0, copied=copied, net_id=net_id)
        self.neuron_type.description["functions"] += [dict(f) for f in _FUNCTIONS]

    def _copy(self, net_id=None):
        return PatchPoissonPopulation(self.geometry, name=self.name, copied=True,
                                      net_id=self.net_id if net_id is None else net_id)

    def _generate_st(self):
        self._specific_template["declare_additional"] = _DECLARE
        self._specific_template["update_variables"] = _UPDATE_ST

    def _generate_omp(self):
        self._specific_template["declare_additional"] = _DECLARE
        self._specific_template["update_variables"] = _UPDATE_OMP

    def _generate_cuda(self):
        raise NotImplementedError("PatchPoissonPopulation has no CUDA version")

    def queue(self, rates_per_patch, steps_per_patch: int) -> None:
        """Queue the rates (Hz) of consecutive patches, shape (n_patches, *geometry)."""
        import numpy as np
        rates = np.ascontiguousarray(rates_per_patch, dtype=np.float64).reshape(-1, self.size)
        self.cyInstance.queue_rates(rates.ravel(), len(rates), int(steps_per_patch))

    def queued_patches_left(self) -> int:
        return int(self.cyInstance.queued_patches_left())
