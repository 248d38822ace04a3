// Fast Vogels et al. (2011) iSTDP: the members of one generated projection struct.
//
// rules/fast.py pastes this file into the struct ANNarchy generates for a
// FastVogelsProjection (dense all-to-all storage) after filling in the template slots (dollar-brace names).
// vogels_psp(tid, nt) replaces the body of compute_psp() (spike delivery and the
// pre-spike weight update), vogels_step(tid, nt) is placed in update_synapse().
//
// Why it is exact: every synapse leaving presynaptic cell j sees the same spikes and
// the same decay, so its tracePre is one number per presynaptic cell (likewise
// tracePost per postsynaptic cell). The same operations in the same order as
// ANNarchy's generated code for the literal synapse: pre-spike events in
// compute_psp(), decay in update_synapse(), post-spike events after the decay.
//
// ANNarchy internals used (generated code of ANNarchy 5.0.x; checked with 5.0.4):
//   pop<id>, dt, w (row-major std::vector<double>), mask_ (dense connectivity mask),
//   _transmission, _plasticity, _update_period, clip(x, lo, hi), the parameters
//   aPlus, Offset, taupre, hMin, hMax, spiked (both populations), g_<target> (post).
//
// Threads own rows i = tid, tid + nt, ... (postsynaptic cells, with their tracePost);
// each thread keeps its own identical copy of the presynaptic traces, so no barrier.

static constexpr int N_PRE = ${n_pre};
static constexpr int N_POST = ${n_post};
inline auto& PRE() { return *pop${pre}; }
inline auto& POST() { return *pop${post}; }
// Section timers (--profile): seconds in the transmission with its pre-spike updates, the
// trace decay, and the post-spike updates.
static constexpr bool TIMERS = ${timers};
double section_s[3] = {0.0, 0.0, 0.0};
inline double clock_now() const { return TIMERS ? omp_get_wtime() : 0.0; }
std::vector<double> section_times() { return std::vector<double>(section_s, section_s + 3); }

std::vector<double> trace_post = std::vector<double>(N_POST, 0.0);
std::vector<std::vector<double>> trace_pre;      // [thread][presynaptic cell]
std::vector<std::vector<int>> pre_spiked_last;   // [thread]: spikes delivered this step
std::vector<double> restored_pre;                // from a checkpoint, applied by vogels_init

void vogels_init(const int nt) {
    #pragma omp barrier
    #pragma omp single
    {
        trace_pre.assign(nt, restored_pre.empty() ? std::vector<double>(N_PRE, 0.0) : restored_pre);
        restored_pre.clear();
        pre_spiked_last.assign(nt, std::vector<int>());
    }
}

// Python accessors (rules/fast.py binds them), for checkpoints:
// tracePost of every postsynaptic cell, then tracePre (thread 0's copy).
std::vector<double> rule_state_get() {
    std::vector<double> s(trace_post.begin(), trace_post.end());
    if (trace_pre.empty() && !restored_pre.empty()) s.insert(s.end(), restored_pre.begin(), restored_pre.end());
    else if (trace_pre.empty()) s.insert(s.end(), N_PRE, 0.0);
    else s.insert(s.end(), trace_pre[0].begin(), trace_pre[0].end());
    return s;
}
bool rule_state_set(std::vector<double> s) {
    if ((int)s.size() != N_POST + N_PRE) return false;
    trace_post.assign(s.begin(), s.begin() + N_POST);
    restored_pre.assign(s.begin() + N_POST, s.end());
    trace_pre.clear();                           // re-initialised on the next step
    return true;
}

void vogels_psp(const int tid, const int nt) {
    if ((int)trace_pre.size() != nt) vogels_init(nt);
    if (!(_transmission && POST()._active)) return;
    const double t0 = clock_now();
    const std::vector<int> &spiked = PRE().spiked;
    // Spike by spike, every row: each row gets its spikes in the order of the spike list, as
    // in ANNarchy's loop over rows; the rows of one spike are independent (vectorised).
    double *g = POST().g_${target}.data();
    double *wv = w.data();
    const auto *mask = mask_.data();
    const double *tpost = trace_post.data();
    const bool plastic = _plasticity;
    for (int s = 0; s < (int)spiked.size(); s++) {
        const int j = spiked[s];
        #pragma omp simd
        for (int i = tid; i < N_POST; i += nt) {
            const int idx = i*N_PRE + j;
            if (!mask[idx]) continue;
            g[i] += wv[idx];
            if (plastic)
                wv[idx] = clip(aPlus*(tpost[i] - Offset)*(wv[idx] + 1) + wv[idx], hMin, hMax);
        }
    }
    pre_spiked_last[tid].assign(spiked.begin(), spiked.end());
    if (TIMERS && tid == 0) section_s[0] += clock_now() - t0;
}

void vogels_step(const int tid, const int nt) {
    if (!(_transmission && POST()._active)) return;
    const double _dt = dt * _update_period;
    double t0 = clock_now();
    std::vector<double> &tpre = trace_pre[tid];
    // Order of the literal synapse: tracePre += 1 (pre-spike event), decay, post-spike events.
    for (int j : pre_spiked_last[tid]) tpre[j] += 1;
    for (int j = 0; j < N_PRE; j++) tpre[j] += _dt*(-tpre[j]/taupre);
    for (int i = tid; i < N_POST; i += nt) trace_post[i] += _dt*(-trace_post[i]/taupre);
    if (TIMERS && tid == 0) { const double t1 = clock_now(); section_s[1] += t1 - t0; t0 = t1; }
    for (int i : POST().spiked) {
        if (i % nt != tid) continue;
        if (_plasticity) {
            for (int j = 0; j < N_PRE; j++) {
                const int idx = i*N_PRE + j;
                if (!mask_[idx]) continue;
                w[idx] = clip(aPlus*tpre[j]*(w[idx] + 1) + w[idx], hMin, hMax);
            }
        }
        trace_post[i] += 1;
    }
    if (TIMERS && tid == 0) section_s[2] += clock_now() - t0;
}
