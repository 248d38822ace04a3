// Fast Clopath et al. (2010) update: the members of one generated projection struct.
//
// rules/fast.py pastes this file into the struct ANNarchy generates for a
// FastClopathProjection ("declare_additional" of the projection template) after
// filling in the template slots (dollar-brace names); the call clopath_step(tid, nt) is placed where ANNarchy
// would update the synapses (update_synapse(), after the neurons of the step).
// Why it computes the literal rule's weights: rules/LAZY_LTP.md.
//
// ANNarchy internals used (generated code of ANNarchy 5.0.x; checked with 5.0.4):
//   pop<id>                 global pointer to a population struct (pop${pre}, pop${post})
//   t, dt                   global step counter and step size
//   w                       the weights: DenseMatrix storage (std::vector<double>), pre-major
//                           (storage_order="pre_to_post"): column j is w[j*N_POST ... ]
//   _plasticity, _update_period, _transmission, _active, positive(x)   flags, max(x, 0)
//   aLTD, aLTP, urefsquare, wMin, wMax, thetaLTD, thetaLTP   the synapse's parameters
//   Spike, xtrace, taux, spiked (pre); vm, vmean, umeanLTD, umeanLTP, g_<target> (post)
//
// Threads own contiguous blocks of postsynaptic rows; the per-column bookkeeping
// (identical in every thread) is kept per thread, so no step needs a barrier.
//
// Delays (D > 1): the projection has no delays in ANNarchy's sense; the kernel keeps
// the axonal delay of every synapse (lags, set from Python after instantiation) and
// transmits the spikes itself (delayed_psp() below). ANNarchy's literal rule reads the
// presynaptic Spike and xtrace as they were lag = delay - 1 steps ago (the signals
// reach the synapse with the spike): every column keeps one book per lag, and each
// thread lists, per column and lag, its rows with that lag. Transmission reads w: a
// spike of cell j at step t reaches the synapses of lag L at step t + L + 1, so those
// synapses (only those) are brought up to date at the end of step t + L.

static constexpr int N_PRE = ${n_pre};        // presynaptic cells
static constexpr int N_POST = ${n_post};      // postsynaptic cells
static constexpr int K = ${period};           // steps per period (one presentation)
static constexpr int D = ${max_delay};        // longest delay in steps (lags 0..D-1)
// Section timers (--profile): seconds spent in the running sums, the histories, the
// columns of ordinary steps, the columns at the period end, and the delayed transmission.
static constexpr bool TIMERS = ${timers};
double section_s[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
inline double clock_now() const { return TIMERS ? omp_get_wtime() : 0.0; }
std::vector<double> section_times() { return std::vector<double>(section_s, section_s + 5); }

inline auto& PRE() { return *pop${pre}; }
inline auto& POST() { return *pop${post}; }
inline double* column(const int j) { return w.data() + (size_t)j * N_POST; }

double q = 0.0;                              // trace decay per step, 1 - dt/taux
double qpow[K + 1], qinv[K + 1];             // q^k, q^-k
double C[K + 1][N_POST];                     // C_i(k) = sum_{s<=k} A_i(s) q^s
double A[K + 1][N_POST];                     // A_i(k), for replays
struct ColumnBook {
    std::vector<int> last_k[D];              // k of the last update of column j, per lag
    std::vector<double> X[D];                // the (lagged) trace at that update
    std::vector<double> spike_hist[D];       // Spike(t - m), m = 0..D-1 (D > 1; see spike_at())
    std::vector<double> x_hist[D];           // xtrace(t - m)
    std::vector<double> sent_hist[D];        // 1 if cell j spiked at t - m, m = 0..D-1
    std::vector<std::vector<int>> rows[D];   // [lag][j]: this thread's rows i with lag(i, j)
    int r0 = 0, r1 = 0;                      // this thread's rows [r0, r1)
    std::vector<int> spike_nz[D];            // the j with spike_hist[m][j] != 0 (LTD steps)
    std::vector<int> sent_list[D];           // the j with sent_hist[m][j] != 0
    std::vector<int> ring[D];                // spiked(t - m) at [(t - m) % D]: spikes in flight
    long int base_t;                         // step that ended the previous period
};
std::vector<ColumnBook> books;
bool clopath_ready = false;
std::vector<double> restored_book;           // from a checkpoint, applied by clopath_init

void clopath_init(const int tid, const int nt) {
    // All threads evaluated the entry condition on the same state; nobody writes before this.
    #pragma omp barrier
    if (tid == 0) {
        q = 1.0 - dt / PRE().taux;
        qpow[0] = qinv[0] = 1.0;
        for (int k = 1; k <= K; k++) { qpow[k] = qpow[k-1] * q; qinv[k] = qinv[k-1] / q; }
        for (int i = 0; i < N_POST; i++) C[0][i] = 0.0;
        books.assign(nt, ColumnBook());
        for (int th = 0; th < nt; th++) {
            ColumnBook &b = books[th];
            // Entered at step t: the previous step closes an (empty) period.
            b.base_t = t - 1;
            if (D > 1) index_rows(b, th, nt);               // ring_transmission.hpp
            for (int L = 0; L < D; L++) {
                b.sent_hist[L].assign(N_PRE, 0.0);
                b.last_k[L].assign(N_PRE, 0);
                // Histories start filled with the current values, as ANNarchy's delay buffers.
                b.spike_hist[L].assign(PRE().Spike.begin(), PRE().Spike.end());
                b.x_hist[L].assign(PRE().xtrace.begin(), PRE().xtrace.end());
                b.X[L].resize(N_PRE);
                for (int j = 0; j < N_PRE; j++) b.X[L][j] = PRE().xtrace[j] / q;
            }
            index_histories(b);
        }
        if (!restored_book.empty()) {            // continue from a checkpoint
            for (auto &b : books) { unpack_book(b, restored_book); index_histories(b); }
            restored_book.clear();
        }
        clopath_ready = true;
    }
    #pragma omp barrier
}

// Checkpoints: the bookkeeping of thread 0 (every thread keeps the same), as doubles:
// base_t, then per lag: last_k, X, spike_hist, x_hist, sent_hist [N_PRE each]; with
// delays, then the spikes in flight: per ring slot its length and its ranks.
std::vector<double> pack_book() {
    if (!restored_book.empty()) return restored_book;   // restored, not yet applied
    std::vector<double> s;
    if (!clopath_ready || books.empty()) return s;       // never simulated: fresh start
    const ColumnBook &b = books[0];
    s.push_back((double)b.base_t);
    for (int L = 0; L < D; L++) {
        s.insert(s.end(), b.last_k[L].begin(), b.last_k[L].end());
        s.insert(s.end(), b.X[L].begin(), b.X[L].end());
        const std::vector<double> &spike = D == 1 ? PRE().Spike : b.spike_hist[L];
        const std::vector<double> &x = D == 1 ? PRE().xtrace : b.x_hist[L];
        s.insert(s.end(), spike.begin(), spike.end());
        s.insert(s.end(), x.begin(), x.end());
        s.insert(s.end(), b.sent_hist[L].begin(), b.sent_hist[L].end());
    }
    if (D > 1) pack_ring(b, s);
    return s;
}
void unpack_book(ColumnBook &b, const std::vector<double> &s) {
    auto it = s.begin();
    b.base_t = (long int)*it++;
    for (int L = 0; L < D; L++) {
        for (int j = 0; j < N_PRE; j++) b.last_k[L][j] = (int)*it++;
        for (int j = 0; j < N_PRE; j++) b.X[L][j] = *it++;
        for (int j = 0; j < N_PRE; j++) b.spike_hist[L][j] = *it++;
        for (int j = 0; j < N_PRE; j++) b.x_hist[L][j] = *it++;
        for (int j = 0; j < N_PRE; j++) b.sent_hist[L][j] = *it++;
    }
    if (D > 1) unpack_ring(b, it);
}
// The presynaptic Spike and xtrace as the synapses of lag L see them now. Without delays
// they are the population's current values, read in place (no copy per step).
inline double spike_at(const ColumnBook &b, const int L, const int j) { return D == 1 ? PRE().Spike[j] : b.spike_hist[L][j]; }
inline double x_at(const ColumnBook &b, const int L, const int j) { return D == 1 ? PRE().xtrace[j] : b.x_hist[L][j]; }

// The lists of the columns with a presynaptic Spike or a transmitted spike, per lag.
static void nonzero(const std::vector<double> &v, std::vector<int> &out) {
    out.clear();
    for (int j = 0; j < (int)v.size(); j++) if (v[j] != 0.0) out.push_back(j);
}
void index_histories(ColumnBook &b) {
    for (int L = 0; L < D; L++) { nonzero(b.spike_hist[L], b.spike_nz[L]); nonzero(b.sent_hist[L], b.sent_list[L]); }
}

// Python accessors (rules/fast.py binds them): the bookkeeping for checkpoints, the lags.
std::vector<double> rule_state_get() { return pack_book(); }
bool rule_state_set(std::vector<double> s) {
    const size_t fixed = 1 + (size_t)N_PRE * 5 * D;
    if (!s.empty() && (s.size() < fixed || (D == 1 && s.size() != fixed))) return false;
    restored_book = s; books.clear(); clopath_ready = false;
    return true;
}
bool set_lags(std::vector<int> v) {
    if (!lags_fit(v)) return false;
    lags = v; books.clear(); clopath_ready = false;
    return true;
}

// The literal rule's update of one synapse at this step (docs/model.md §3), in ANNarchy's
// operation order: written once, used by every column pass below.
inline double literal_w(double w_ij, const double vmean_i, const double uLTD_i, const double uLTP_i,
                        const double vm_i, const double spike_j, const double xtrace_j, const double _dt) {
    double ltd = (w_ij > wMin ? vmean_i*spike_j*aLTD*positive(uLTD_i - thetaLTD)/urefsquare : 0.0);
    double ltp = (w_ij < wMax ? xtrace_j*aLTP*positive(uLTP_i - thetaLTD)*positive(vm_i - thetaLTP) : 0.0);
    w_ij += _dt*(-ltd + ltp);
    return (w_ij < 0.0) ? 0.0 : w_ij;
}

// Replays the steps a+1..b of a synapse whose lazy LTP would pass wMax (the literal
// rule stops LTP at wMax): x decays from Xj, the weight follows A step by step.
inline double replay(double w_ij, const int i, const int a, const int b, const double Xj, const double _dt) {
    double x = Xj;
    for (int k = a + 1; k <= b && w_ij < wMax; k++) { x *= q; w_ij += _dt * x * A[k][i]; }
    return w_ij;
}

// LTP of rows i0..i1 of column j from the end of step a to the end of step b of the period:
// w += dt X_j q^-a (C_i(b) - C_i(a)) where that stays below wMax, the replay where it would
// not. Written as a pass over the contiguous column that the compiler vectorises.
inline void flush_column(double *wc, const int a, const int b, const double Xj, const double _dt,
                         const int i0, const int i1) {
    if (b <= a) return;
    const double f = _dt * Xj * qinv[a];
    const double *Cb = C[b], *Ca = C[a];
    unsigned char need_replay[N_POST];
    int any = 0;
    #pragma omp simd reduction(|:any)
    for (int i = i0; i < i1; i++) {
        const double w0 = wc[i];
        const double w1 = w0 + f * (Cb[i] - Ca[i]);
        const bool below = w0 < wMax, ok = below && (w1 < wMax);
        wc[i] = ok ? w1 : w0;
        need_replay[i] = below && !ok;
        any |= need_replay[i];
    }
    if (!any) return;
    for (int i = i0; i < i1; i++)
        if (need_replay[i]) wc[i] = replay(wc[i], i, a, b, Xj, _dt);
}

// The literal update of rows i0..i1 of a contiguous column (vectorised).
inline void literal_column(double *wc, const double spike_j, const double xtrace_j, const double _dt,
                           const int i0, const int i1) {
    const double *vmean = POST().vmean.data(), *uLTD = POST().umeanLTD.data();
    const double *uLTP = POST().umeanLTP.data(), *vm = POST().vm.data();
    #pragma omp simd
    for (int i = i0; i < i1; i++)
        wc[i] = literal_w(wc[i], vmean[i], uLTD[i], uLTP[i], vm[i], spike_j, xtrace_j, _dt);
}

enum Action { NONE, THROUGH_K, LTD_STEP };

// flush_column() and literal_column() for a list of rows of column j (with delays, D > 1:
// the rows of one lag). The same operations per row as the contiguous passes, in the same
// order; the compiler vectorises them with gathers and scatters (the rows are distinct).
inline void flush_rows(double *wc, const std::vector<int> &rows, const int a, const int b, const double Xj,
                       const double _dt) {
    if (b <= a) return;
    const double f = _dt * Xj * qinv[a];
    const double *Cb = C[b], *Ca = C[a];
    const int n = (int)rows.size();
    const int *r = rows.data();
    unsigned char need_replay[N_POST];
    int any = 0;
    #pragma omp simd reduction(|:any)
    for (int m = 0; m < n; m++) {
        const int i = r[m];
        const double w0 = wc[i];
        const double w1 = w0 + f * (Cb[i] - Ca[i]);
        const bool below = w0 < wMax, ok = below && (w1 < wMax);
        wc[i] = ok ? w1 : w0;
        need_replay[m] = below && !ok;
        any |= need_replay[m];
    }
    if (!any) return;
    for (int m = 0; m < n; m++)
        if (need_replay[m]) wc[r[m]] = replay(wc[r[m]], r[m], a, b, Xj, _dt);
}

inline void literal_rows(double *wc, const std::vector<int> &rows, const double spike_j, const double xtrace_j,
                         const double _dt) {
    const double *vmean = POST().vmean.data(), *uLTD = POST().umeanLTD.data();
    const double *uLTP = POST().umeanLTP.data(), *vm = POST().vm.data();
    const int n = (int)rows.size();
    const int *r = rows.data();
    #pragma omp simd
    for (int m = 0; m < n; m++) {
        const int i = r[m];
        wc[i] = literal_w(wc[i], vmean[i], uLTD[i], uLTP[i], vm[i], spike_j, xtrace_j, _dt);
    }
}

// Brings the synapses of column j with lag L up to date through step k (THROUGH_K), or
// through step k - 1 followed by the literal update of step k (LTD_STEP); then the book.
inline void column_action(ColumnBook &book, const int L, const int j, const Action act, const int k,
                          const double _dt, const int i0, const int i1) {
    double *wc = column(j);
    const int last = book.last_k[L][j];
    const double Xj = book.X[L][j];
    if (D == 1) {                                  // no delays: whole column slices
        if (act == LTD_STEP) {
            flush_column(wc, last, k - 1, Xj, _dt, i0, i1);
            if (_plasticity) literal_column(wc, spike_at(book, L, j), x_at(book, L, j), _dt, i0, i1);
        } else {
            flush_column(wc, last, k, Xj, _dt, i0, i1);
        }
    } else {                                       // the rows with this lag
        const std::vector<int> &rows = book.rows[L][j];
        if (act == LTD_STEP) {
            flush_rows(wc, rows, last, k - 1, Xj, _dt);
            if (_plasticity) literal_rows(wc, rows, spike_at(book, L, j), x_at(book, L, j), _dt);
        } else {
            flush_rows(wc, rows, last, k, Xj, _dt);
        }
    }
    book.last_k[L][j] = k;
    book.X[L][j] = x_at(book, L, j);
}

void clopath_step(const int tid, const int nt) {
    if (!clopath_ready || (int)books.size() != nt || t - books[tid].base_t > K)
        clopath_init(tid, nt);                   // first step, or learning was paused
    ColumnBook &book = books[tid];
    const double _dt = dt * _update_period;
    const int k = (int)(t - book.base_t);
    const bool period_end = (k == K) || ((t + 1) % K == 0);
    const int i0 = tid * N_POST / nt, i1 = (tid + 1) * N_POST / nt;
    double t0 = clock_now();

    {   // A_i(k) and the running sums C_i(k)
        const double *uLTP = POST().umeanLTP.data(), *vm = POST().vm.data();
        const double *C_prev = C[k-1], qk = qpow[k];
        double *A_k = A[k], *C_k = C[k];
        const bool plastic = _plasticity;
        #pragma omp simd
        for (int i = i0; i < i1; i++) {
            const double a_i = plastic ? aLTP*positive(uLTP[i] - thetaLTD)*positive(vm[i] - thetaLTP) : 0.0;
            A_k[i] = a_i;
            C_k[i] = C_prev[i] + a_i * qk;
        }
    }
    if (TIMERS && tid == 0) { const double t1 = clock_now(); section_s[0] += t1 - t0; t0 = t1; }
    if (D > 1) {                                  // shift the histories: [m] = value at t - m
        for (int L = D - 1; L > 0; L--) {
            book.spike_hist[L].swap(book.spike_hist[L-1]);
            book.x_hist[L].swap(book.x_hist[L-1]);
            book.sent_hist[L].swap(book.sent_hist[L-1]);
            book.spike_nz[L].swap(book.spike_nz[L-1]);
            book.sent_list[L].swap(book.sent_list[L-1]);
        }
    }
    if (D > 1) {
        std::copy(PRE().Spike.begin(), PRE().Spike.end(), book.spike_hist[0].begin());
        std::copy(PRE().xtrace.begin(), PRE().xtrace.end(), book.x_hist[0].begin());
    }
    nonzero(PRE().Spike, book.spike_nz[0]);
    // Spikes of this step: the synapses of lag L transmit them after step t + L.
    for (int j : book.sent_list[0]) book.sent_hist[0][j] = 0.0;
    for (int j : PRE().spiked) book.sent_hist[0][j] = 1.0;
    book.sent_list[0].assign(PRE().spiked.begin(), PRE().spiked.end());
    if (D > 1) book.ring[t % D].assign(PRE().spiked.begin(), PRE().spiked.end());
    if (TIMERS && tid == 0) { const double t1 = clock_now(); section_s[1] += t1 - t0; t0 = t1; }

    // Only the (lag, column) pairs with something to do: an LTD step (Spike != 0), or a spike
    // transmitted next step; at the period end every pair. Each pair is done once, and pairs
    // touch disjoint synapses, so the order does not matter.
    if (period_end) {
        for (int j = 0; j < N_PRE; j++)
            for (int L = 0; L < D; L++)
                column_action(book, L, j, spike_at(book, L, j) != 0.0 ? LTD_STEP : THROUGH_K, k, _dt, i0, i1);
    } else {
        for (int L = 0; L < D; L++) {
            for (int j : book.spike_nz[L]) column_action(book, L, j, LTD_STEP, k, _dt, i0, i1);
            for (int j : book.sent_list[L])
                if (spike_at(book, L, j) == 0.0) column_action(book, L, j, THROUGH_K, k, _dt, i0, i1);
        }
    }
    if (TIMERS && tid == 0) section_s[period_end ? 3 : 2] += clock_now() - t0;
    if (period_end) {
        book.base_t = t;
        for (int L = 0; L < D; L++) std::fill(book.last_k[L].begin(), book.last_k[L].end(), 0);
        for (int i = i0; i < i1; i++) C[0][i] = 0.0;
    }
}

// Spike transmission with the synapses' own delays (D > 1), in place of ANNarchy's
// compute_psp(): a spike of cell j at step e reaches the rows of lag L at step e + L + 1.
// Per row, the additions come in ANNarchy's order for delayed spikes: oldest emission
// first, and within one step in the order of the presynaptic spike list. Each thread
// adds to its own rows; the closing barrier keeps the post neurons from updating before
// every row has its input (ANNarchy's loops split the rows differently).
void delayed_psp(const int tid, const int nt) {
    if (!clopath_ready || (int)books.size() != nt) clopath_init(tid, nt);   // e.g. after a restore
    if (!(_transmission && POST()._active)) return;
    const double t0 = clock_now();
    ColumnBook &book = books[tid];
    deliver_delayed(book, POST().g_${target}.data());      // ring_transmission.hpp
    if (TIMERS && tid == 0) section_s[4] += clock_now() - t0;
    if (nt > 1) {
        #pragma omp barrier
    }
}
