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
//   w                       the weights: DenseMatrix (std::vector<double>, pre-major with
//                           storage_order="pre_to_post") or LIL (std::vector<std::vector<double>>)
//   delay, post_rank, pre_rank   LIL connectivity and per-synapse delays in steps
//   _plasticity, _update_period, positive(x)   projection flags, ANNarchy's max(x, 0)
//   aLTD, aLTP, urefsquare, wMin, wMax, thetaLTD, thetaLTP   the synapse's parameters
//   Spike, xtrace, taux, spiked (pre); vm, vmean, umeanLTD, umeanLTP (post)
//
// Threads own contiguous blocks of postsynaptic rows; the per-column bookkeeping
// (identical in every thread) is kept per thread, so no step needs a barrier.
//
// Delays: with non-uniform delays ANNarchy's literal rule reads the presynaptic
// Spike and xtrace as they were lag = delay - 1 steps ago (the signals reach the
// synapse with the spike). Every column keeps one book per lag, and each thread
// lists, per column and lag, its rows with that lag. Transmission reads w: a spike
// of cell j at step t reaches the synapses of lag L at step t + L + 1, so those
// synapses (only those) are brought up to date at the end of step t + L.

static constexpr int N_PRE = ${n_pre};        // presynaptic cells
static constexpr int N_POST = ${n_post};      // postsynaptic cells
static constexpr int K = ${period};           // steps per period (one presentation)
static constexpr int D = ${max_delay};        // longest delay in steps (lags 0..D-1)
static constexpr bool CONTIGUOUS = ${contiguous};   // dense pre-major: W(i, j) = column(j)[i]

inline auto& PRE() { return *pop${pre}; }
inline auto& POST() { return *pop${post}; }
inline double& W(const int i, const int j) { return ${w_access}; }
inline double* column(const int j) { return ${column}; }
inline int lag(const int i, const int j) { return ${lag}; }

double q = 0.0;                              // trace decay per step, 1 - dt/taux
double qpow[K + 1], qinv[K + 1];             // q^k, q^-k
double C[K + 1][N_POST];                     // C_i(k) = sum_{s<=k} A_i(s) q^s
double A[K + 1][N_POST];                     // A_i(k), for replays
struct ColumnBook {
    std::vector<int> last_k[D];              // k of the last update of column j, per lag
    std::vector<double> X[D];                // the (lagged) trace at that update
    std::vector<double> spike_hist[D];       // Spike(t - m), m = 0..D-1
    std::vector<double> x_hist[D];           // xtrace(t - m)
    std::vector<double> sent_hist[D];        // 1 if cell j spiked at t - m, m = 0..D-1
    std::vector<std::vector<int>> rows[D];   // [lag][j]: this thread's rows i with lag(i, j)
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
            if (D > 1) {
                const int r0 = th * N_POST / nt, r1 = (th + 1) * N_POST / nt;
                for (int L = 0; L < D; L++) b.rows[L].assign(N_PRE, std::vector<int>());
                for (int i = r0; i < r1; i++)
                    for (int j = 0; j < N_PRE; j++) b.rows[lag(i, j)][j].push_back(i);
            }
            for (int L = 0; L < D; L++) {
                b.sent_hist[L].assign(N_PRE, 0.0);
                b.last_k[L].assign(N_PRE, 0);
                // Histories start filled with the current values, as ANNarchy's delay buffers.
                b.spike_hist[L].assign(PRE().Spike.begin(), PRE().Spike.end());
                b.x_hist[L].assign(PRE().xtrace.begin(), PRE().xtrace.end());
                b.X[L].resize(N_PRE);
                for (int j = 0; j < N_PRE; j++) b.X[L][j] = PRE().xtrace[j] / q;
            }
        }
        if (!restored_book.empty()) {            // continue from a checkpoint
            for (auto &b : books) unpack_book(b, restored_book);
            restored_book.clear();
        }
        ${check_rows}
        clopath_ready = true;
    }
    #pragma omp barrier
}

// Checkpoints: the bookkeeping of thread 0 (every thread keeps the same), as doubles:
// base_t, then per lag: last_k, X, spike_hist, x_hist, sent_hist [N_PRE each].
std::vector<double> pack_book() {
    if (!restored_book.empty()) return restored_book;   // restored, not yet applied
    std::vector<double> s;
    if (!clopath_ready || books.empty()) return s;       // never simulated: fresh start
    const ColumnBook &b = books[0];
    s.push_back((double)b.base_t);
    for (int L = 0; L < D; L++) {
        s.insert(s.end(), b.last_k[L].begin(), b.last_k[L].end());
        s.insert(s.end(), b.X[L].begin(), b.X[L].end());
        s.insert(s.end(), b.spike_hist[L].begin(), b.spike_hist[L].end());
        s.insert(s.end(), b.x_hist[L].begin(), b.x_hist[L].end());
        s.insert(s.end(), b.sent_hist[L].begin(), b.sent_hist[L].end());
    }
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
}
int book_size() { return 1 + N_PRE * 5 * D; }
// Python accessors (rules/fast.py binds them): the bookkeeping for checkpoints.
std::vector<double> rule_state_get() { return pack_book(); }
bool rule_state_set(std::vector<double> s) {
    if (!s.empty() && (int)s.size() != book_size()) return false;
    restored_book = s; books.clear(); clopath_ready = false;
    return true;
}

// The literal rule's update of one synapse at this step (MODEL_SPEC 3), in ANNarchy's
// operation order: written once, used by the scalar and the vectorised column paths.
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

// LTP of synapse (i, j) from the end of step a to the end of step b of the period.
inline void flush(const int i, const int j, const int a, const int b, const double Xj, const double _dt) {
    if (b <= a) return;
    double &w_ij = W(i, j);
    if (!(w_ij < wMax)) return;                  // LTP off; nothing else acts in between
    const double inc = _dt * Xj * qinv[a] * (C[b][i] - C[a][i]);
    if (w_ij + inc < wMax) { w_ij += inc; return; }
    w_ij = replay(w_ij, i, a, b, Xj, _dt);       // passes wMax
}

// flush() for rows i0..i1 of a contiguous column (dense storage), written so that the
// compiler vectorises it: each row gets exactly the operations of flush(), in order.
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

// The literal update of synapse (i, j) at this step.
inline void literal(const int i, const int j, const double spike_j, const double xtrace_j, const double _dt) {
    double &w_ij = W(i, j);
    w_ij = literal_w(w_ij, POST().vmean[i], POST().umeanLTD[i], POST().umeanLTP[i], POST().vm[i],
                     spike_j, xtrace_j, _dt);
}

void clopath_step(const int tid, const int nt) {
    if (!clopath_ready || (int)books.size() != nt || t - books[tid].base_t > K)
        clopath_init(tid, nt);                   // first step, or learning was paused
    ColumnBook &book = books[tid];
    const double _dt = dt * _update_period;
    const int k = (int)(t - book.base_t);
    const bool period_end = (k == K) || ((t + 1) % K == 0);
    const int i0 = tid * N_POST / nt, i1 = (tid + 1) * N_POST / nt;

    for (int i = i0; i < i1; i++) {
        const double a_i = _plasticity ? aLTP*positive(POST().umeanLTP[i] - thetaLTD)*positive(POST().vm[i] - thetaLTP) : 0.0;
        A[k][i] = a_i;
        C[k][i] = C[k-1][i] + a_i * qpow[k];
    }
    if (D > 1) {                                  // shift the histories: [m] = value at t - m
        for (int L = D - 1; L > 0; L--) {
            book.spike_hist[L].swap(book.spike_hist[L-1]);
            book.x_hist[L].swap(book.x_hist[L-1]);
            book.sent_hist[L].swap(book.sent_hist[L-1]);
        }
    }
    std::copy(PRE().Spike.begin(), PRE().Spike.end(), book.spike_hist[0].begin());
    std::copy(PRE().xtrace.begin(), PRE().xtrace.end(), book.x_hist[0].begin());
    // Spikes of this step: the synapses of lag L transmit them after step t + L.
    std::fill(book.sent_hist[0].begin(), book.sent_hist[0].end(), 0.0);
    for (int j : PRE().spiked) book.sent_hist[0][j] = 1.0;

    enum Action { NONE, THROUGH_K, LTD_STEP };
    for (int j = 0; j < N_PRE; j++) {
        Action act[D];
        bool any = false;
        for (int L = 0; L < D; L++) {
            act[L] = book.spike_hist[L][j] != 0.0 ? LTD_STEP
                   : ((period_end || book.sent_hist[L][j] != 0.0) ? THROUGH_K : NONE);
            any |= act[L] != NONE;
        }
        if (!any) continue;
        for (int L = 0; L < D; L++) {
            if (act[L] == NONE) continue;
            const int last = book.last_k[L][j];
            const double Xj = book.X[L][j];
            if (D == 1 && CONTIGUOUS) {            // no delays, dense: whole column slices
                double *wc = column(j);
                if (act[L] == LTD_STEP) {
                    flush_column(wc, last, k - 1, Xj, _dt, i0, i1);
                    if (_plasticity) literal_column(wc, book.spike_hist[L][j], book.x_hist[L][j], _dt, i0, i1);
                } else {
                    flush_column(wc, last, k, Xj, _dt, i0, i1);
                }
            } else if (D == 1) {                   // no delays: every row, lag 0
                if (act[L] == LTD_STEP) {
                    for (int i = i0; i < i1; i++) {  // up to date, then the literal update
                        flush(i, j, last, k - 1, Xj, _dt);
                        if (_plasticity) literal(i, j, book.spike_hist[L][j], book.x_hist[L][j], _dt);
                    }
                } else {
                    for (int i = i0; i < i1; i++) flush(i, j, last, k, Xj, _dt);
                }
            } else {                               // only the rows with this lag
                const std::vector<int> &rows = book.rows[L][j];
                if (act[L] == LTD_STEP) {
                    for (int i : rows) {
                        flush(i, j, last, k - 1, Xj, _dt);
                        if (_plasticity) literal(i, j, book.spike_hist[L][j], book.x_hist[L][j], _dt);
                    }
                } else {
                    for (int i : rows) flush(i, j, last, k, Xj, _dt);
                }
            }
        }
        for (int L = 0; L < D; L++) {
            if (act[L] == NONE) continue;
            book.last_k[L][j] = k;
            book.X[L][j] = book.x_hist[L][j];
        }
    }
    if (period_end) {
        book.base_t = t;
        for (int L = 0; L < D; L++) std::fill(book.last_k[L].begin(), book.last_k[L].end(), 0);
        for (int i = i0; i < i1; i++) C[0][i] = 0.0;
    }
}
