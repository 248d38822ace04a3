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
(``tests/test_poisson_input.py``).

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
from models.annarchy_env import prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402

# Queue state in the generated population. Rows of _queue are patches (size values each);
# the row _queue_pos is loaded at step _queue_next_t, the next one _queue_steps later.
_DECLARE = """
    // Flush-to-zero and denormals-are-zero (x86 MXCSR bits 15 and 6); see the module docstring.
    static inline unsigned int fp_get_mode() {
    #if defined(__SSE__)
        return __builtin_ia32_stmxcsr();
    #else
        return 0;
    #endif
    }
    static inline void fp_set_mode(unsigned int mode) {
    #if defined(__SSE__)
        __builtin_ia32_ldmxcsr(mode);
    #endif
    }
    static inline void fp_flush_subnormals() { fp_set_mode(fp_get_mode() | 0x8040u); }
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
    # Called from the Python thread around simulate(): the calling thread's mode.
    {"name": "fp_begin", "cpp": "unsigned int fp_begin() { unsigned int m = fp_get_mode(); "
                                "fp_flush_subnormals(); return m; }"},
    {"name": "fp_end", "cpp": "void fp_end(unsigned int mode) { fp_set_mode(mode); }"},
]

# update(): ANNarchy's generated statement for p, preceded by the load of the next
# queued patch. Single thread:
_UPDATE_ST = """
        if( _active ) {
            fp_flush_subnormals();      // every thread, before any neuron of this step
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
            fp_flush_subnormals();      // every thread, before any neuron of this step
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
    works as for a ``PoissonPopulation``. Simulate inside ``flush_subnormals()``
    (as ``V1Network`` does): a bare ``net.simulate()`` leaves flush-to-zero set in
    the calling thread.
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

    @contextmanager
    def flush_subnormals(self):
        """Flush subnormal numbers to zero in the calling thread while in the block."""
        saved = self.cyInstance.fp_begin()
        try:
            yield
        finally:
            self.cyInstance.fp_end(saved)
