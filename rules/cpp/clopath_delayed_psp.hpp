// Spike transmission of a FastClopathProjection with non-uniform delays (LIL storage,
// complete rows in rank order): appended to rules/cpp/clopath.hpp by rules/fast.py and
// called in place of ANNarchy's compute_psp() body.
//
// The same ring buffer and the same order of additions per row as ANNarchy's
// single-thread code, with the rows split over threads as in clopath_step(): ANNarchy's
// OpenMP version synchronises once per postsynaptic row and locks every push (60x
// slower at 2 threads than at 1, and its push order depends on the schedule).
//
// ANNarchy internals used (5.0.x): _delayed_spikes (ring of max_delay slots, one list of
// presynaptic ranks per row), idx_delay (current slot), max_delay, delay (steps),
// post_rank, _transmission, _active, g_<target> of the post population.

void delayed_psp(const int tid, const int nt) {
    if (!(_transmission && POST()._active)) return;
    const int i0 = tid * N_POST / nt, i1 = (tid + 1) * N_POST / nt;
    for (int rk_pre : PRE().spiked) {
        for (int i = i0; i < i1; i++)   // column rk_pre of a complete row i is rank rk_pre
            _delayed_spikes[(idx_delay + delay[i][rk_pre] - 1) % max_delay][i].push_back(rk_pre);
    }
    for (int i = i0; i < i1; i++) {
        std::vector<int> &due = _delayed_spikes[idx_delay][i];
        for (int j : due) POST().g_${target}[post_rank[i]] += w[i][j];
        due.clear();
    }
    #pragma omp barrier
    #pragma omp single
    idx_delay = (idx_delay + 1) % max_delay;   // every thread has used it (implicit barrier after)
}
