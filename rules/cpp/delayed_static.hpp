// Static synapses with non-uniform axonal delays: the members of one generated projection
// struct (rules/fast.py, FastDelayedStaticProjection).
//
// ANNarchy stores non-uniform delays only in LIL format, and its transmission of them is
// slow (it warns so). This projection stores the weights dense and pre-major and transmits
// the spikes itself with each synapse's own delay, exactly as the fast Clopath kernel does
// (rules/cpp/clopath.hpp, delayed_psp): a spike of cell j at step e reaches the rows of lag
// L = delay - 1 at step e + L + 1; per row the additions come in ANNarchy's order for delayed
// spikes (oldest emission first, within one step in the order of the presynaptic spike
// list), so g_target is the same, bit for bit, as with ANNarchy's own code.
//
// ANNarchy internals used (generated code of ANNarchy 5.0.x; checked with 5.0.4):
//   pop<id>, t, w (DenseMatrix, pre-major), _transmission, _active, spiked (pre), g_<target>
static constexpr int N_PRE = ${n_pre};
static constexpr int N_POST = ${n_post};
static constexpr int D = ${max_delay};        // longest delay in steps (lags 0..D-1)
inline auto& PRE() { return *pop${pre}; }
inline auto& POST() { return *pop${post}; }
inline double* column(const int j) { return w.data() + (size_t)j * N_POST; }

struct RowBook {
    int r0 = 0, r1 = 0;                       // this thread's rows [r0, r1)
    std::vector<int> ring[D];                 // spiked(t - m) at [(t - m) % D]: spikes in flight
};
std::vector<RowBook> books;
bool static_ready = false;

void static_init(const int tid, const int nt) {
    #pragma omp barrier
    if (tid == 0) {
        books.assign(nt, RowBook());
        for (int th = 0; th < nt; th++) {
            own_rows(books[th], th, nt);                    // ring_transmission.hpp
            if (!restored_ring.empty()) {                   // continue from a checkpoint
                std::vector<double>::const_iterator it = restored_ring.begin();
                unpack_ring(books[th], it);
            }
        }
        restored_ring.clear();
        static_ready = true;
    }
    #pragma omp barrier
}

// Python accessors (rules/fast.py binds them).
bool set_lags(std::vector<int> v) {
    if (!lags_fit(v)) return false;
    lags = v; books.clear(); static_ready = false;
    return true;
}
void clear_delayed_spikes() {                 // no spike in flight (a network's initial state)
    for (auto &b : books) for (int m = 0; m < D; m++) b.ring[m].clear();
}
// Independent presentations run by the kernel (simulator/network.py, present_from_initial):
// n presentations of `steps` steps from the next step on, each starting with no spike in
// flight, as after clear_delayed_spikes() and a reset of the presynaptic population.
long int _pres_first = 0;
int _pres_steps = 1, _pres_n = 0;
void clear_at_presentations(int n, int steps) { _pres_first = t; _pres_steps = steps; _pres_n = n; }
inline bool presentation_starts() const {
    const long int into = t - _pres_first;
    return _pres_n > 0 && into >= 0 && into % _pres_steps == 0 && into / _pres_steps < _pres_n;
}
// Checkpoints: the spikes in flight (thread 0's copy; every thread keeps the same):
// per ring slot its length and its ranks.
std::vector<double> restored_ring;
std::vector<double> rule_state_get() {
    if (!restored_ring.empty() || books.empty()) return restored_ring;
    std::vector<double> s;
    pack_ring(books[0], s);
    return s;
}
bool rule_state_set(std::vector<double> s) {
    restored_ring = s; books.clear(); static_ready = false;
    return true;
}
std::vector<double> section_times() { return std::vector<double>(); }

// compute_psp() of step t: the presynaptic spikes of step t - 1 (the population's spike
// list until its update in this step) enter the ring; a spike of cell j at step e reaches
// the rows of lag L at step e + L + 1.
void static_psp(const int tid, const int nt) {
    if (!static_ready || (int)books.size() != nt) static_init(tid, nt);
    RowBook &book = books[tid];
    if (presentation_starts()) {               // nothing in flight, no spike of the last step
        for (int m = 0; m < D; m++) book.ring[m].clear();
    } else if (t >= 1) {
        book.ring[(t - 1) % D].assign(PRE().spiked.begin(), PRE().spiked.end());
    }
    if (!(_transmission && POST()._active)) return;
    deliver_delayed(book, POST().g_${target}.data());      // ring_transmission.hpp
    if (nt > 1) {
        #pragma omp barrier
    }
}
