// Queue of patch rates and flush-to-zero mode: members of the generated struct of a
// PatchPoissonPopulation (simulator/poisson_input.py pastes this file in as the
// population's "declare_additional").
//
// ANNarchy internals used (generated population code of ANNarchy 5.0.x; checked
// with 5.0.4): t (global step counter), size, rates (the PoissonPopulation's rate
// vector).

// Flush-to-zero and denormals-are-zero (x86 MXCSR bits 15 and 6): see simulator/poisson_input.py.
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

// Rates of queued patches. Rows of _queue are patches (size values each); the row
// _queue_pos is loaded at step _queue_next_t, the next one _queue_steps later.
std::vector<double> _queue;
int _queue_left = 0, _queue_pos = 0, _queue_steps = 1;
long int _queue_next_t = 0;
// Independent presentations (queue_presentations): a seed per patch, with which the
// generators are seeded before the patch's first draw, and whether the population goes
// back to its initial state there too. Empty: the generators run on (training).
std::vector<unsigned int> _queue_seeds;
bool _queue_restore = false;
// On one thread, the draws of those presentations come from _block_rng (mt19937_block.hpp:
// the numbers of ANNarchy's rng[0], faster); ANNarchy's generators stay as seeded.
MT19937Block _block_rng;
bool _block_draws = false;

// Python accessors (bound by simulator/poisson_input.py).
void queue_rates(std::vector<double> flat, int n_patches, int steps_per_patch) {
    _queue = flat;
    _queue_left = n_patches;
    _queue_pos = 0;
    _queue_steps = steps_per_patch;
    _queue_next_t = t;      // the first patch starts with the next step
    _queue_seeds.clear();
    _block_draws = false;
}
void queue_presentations(std::vector<double> flat, std::vector<unsigned int> seeds, int steps_per_patch,
                         bool restore) {
    queue_rates(flat, (int)seeds.size(), steps_per_patch);
    _queue_seeds = seeds;
    _queue_restore = restore;
}
// First statement of update_rng(), before the step's draws: at the first step of a
// presentation, the state and the generators of a reset and reseed before the step.
inline void presentation_start() {
    if (_queue_seeds.empty() || _queue_left == 0 || t != _queue_next_t) return;
    if (_queue_restore) restore_initial();
    reseed(_queue_seeds[_queue_pos]);
    _block_rng.seed(_queue_seeds[_queue_pos]);
    _block_draws = rng.size() == 1;
}
int queued_patches_left() { return _queue_left; }
// A fresh start for an independent presentation: no spike of the last step, and every
// thread's generator (ANNarchy's global rng) seeded from the presentation's seed.
void restore_initial() { spiked.clear(); std::fill(last_spike.begin(), last_spike.end(), -10000L); }
void reseed(unsigned int seed) {
    for (size_t k = 0; k < rng.size(); k++) rng[k].seed(seed + (unsigned int)k);
    _block_draws = false;
}
// Called from the Python thread around simulate(): the calling thread's mode.
unsigned int fp_begin() { unsigned int m = fp_get_mode(); fp_flush_subnormals(); return m; }
void fp_end(unsigned int mode) { fp_set_mode(mode); }
