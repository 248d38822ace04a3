"""Voltage-based STDP of Clopath et al. (2010), Nat Neurosci 13:344 (MODEL_SPEC 3).

    dw/dt = -LTD + LTP,  w >= 0
    LTD = aLTD * (post.vmean / urefsquare) * pre.Spike * [post.umeanLTD - thetaLTD]+   (only while w > wMin)
    LTP = aLTP * [post.vm - thetaLTP]+ * pre.xtrace * [post.umeanLTP - thetaLTD]+       (only while w < wMax)

A presynaptic spike adds w to the target conductance.

The fast form (``FastClopathProjection``) computes the same terms with far
less work. LTD needs a presynaptic ``Spike`` (1 on one step per spike): only
those columns get the literal per-synapse update, in ANNarchy's operation
order. LTP is not sparse (the after-potential holds vm above thetaLTP ~40 % of
the time, and LGN traces are non-zero most of the time), but between two spikes
of presynaptic cell j its trace decays geometrically, x_j(s) = X_j q^(s-a).
The LTP a synapse collects over such an interval is therefore X_j q^-a times
the difference of one running sum per postsynaptic cell, C_i = sum A_i(s) q^s:
a synapse is touched when its presynaptic cell spikes, once per presentation
(all synapses, so weights read between patches are current), and, if it would
pass wMax inside an interval, replayed step by step (the literal rule stops at
wMax). The sums are taken in another order than the literal rule's, so the two
agree to ~1e-12 relative, not bit for bit (tests/test_rules.py).
"""
from models.annarchy_env import prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402
from ANNarchy.intern.SpecificProjection import SpecificProjection  # noqa: E402

from models.parameters import ClopathParams  # noqa: E402


def _parameter_block(p: ClopathParams) -> str:
    return "\n".join(
        f"{name} = {value!r} : projection"
        for name, value in (
            ("thetaLTD", p.thetaLTD), ("thetaLTP", p.thetaLTP), ("aLTD", p.aLTD),
            ("aLTP", p.aLTP), ("urefsquare", p.urefsquare), ("wMin", p.wMin), ("wMax", p.wMax),
        )
    )


def clopath_synapse(p: ClopathParams) -> ann.Synapse:
    """The literal Clopath synapse: one dw/dt per synapse per step."""
    return ann.Synapse(
        parameters=_parameter_block(p),
        equations="""
            ltdTerm = if w > wMin: aLTD*(post.vmean/urefsquare)*pre.Spike*pos(post.umeanLTD - thetaLTD) else: 0.0
            ltpTerm = if w < wMax: aLTP*pos(post.vm - thetaLTP)*pre.xtrace*pos(post.umeanLTP - thetaLTD) else: 0.0
            dw/dt = -ltdTerm + ltpTerm : min=0.0
        """,
        pre_spike="g_target += w",
        name="Clopath (literal)",
    )


_CLOPATH_STEP = """
    // ---- Fast Clopath update (rules/clopath.py) -----------------------------
    // LTD acts only on steps where a presynaptic Spike is 1: those columns get the
    // literal per-synapse update. LTP between two such steps is
    //     sum_s A_i(s) x_j(s),  A_i = aLTP [umeanLTP_i - thetaLTD]+ [vm_i - thetaLTP]+,
    // and x_j(s) = X_j q^(s-a) decays geometrically (q = 1 - dt/taux) from its value
    // X_j at the last update a of column j. With C_i(k) = sum_{s<=k} A_i(s) q^s
    // (k counted from the start of the period) the sum is X_j q^-a (C_i(b) - C_i(a)):
    // one multiply per synapse per update instead of one per step. A synapse that
    // would pass wMax inside the interval is replayed step by step (the literal rule
    // stops LTP at wMax). Every flush_period steps (one patch) all synapses are
    // brought up to date, so weights read between patches are current.
    //
    // Threads own contiguous blocks of postsynaptic rows; the per-column bookkeeping
    // (identical in every thread) is kept per thread, so no step needs a barrier.
    //
    // Delays: with non-uniform delays ANNarchy's literal rule reads the presynaptic
    // Spike and xtrace as they were lag = delay - 1 steps ago (the signals reach the
    // synapse with the spike). Every column therefore keeps one book per lag, and
    // each thread lists, per column and lag, its rows with that lag.
    //
    // Transmission reads w: a spike of cell j at step t reaches the synapses of lag L
    // at step t + L + 1, so those synapses (only those) are brought up to date at the
    // end of step t + L.
    static const int K = %(period)d;            // steps per period
    static const int D = %(max_delay)d;         // longest delay in steps (lags 0..D-1)
    double q = 0.0;                              // trace decay per step
    double qpow[K + 1], qinv[K + 1];             // q^k, q^-k
    double C[K + 1][%(n_post)d];                 // C_i(k)
    double A[K + 1][%(n_post)d];                 // A_i(k), for replays
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

    inline double& W(const int i, const int j) { return %(w_access)s; }
    inline int lag(const int i, const int j) { return %(lag)s; }

    void clopath_init(const int tid, const int nt) {
        // All threads evaluated the entry condition on the same state; nobody writes before this.
        #pragma omp barrier
        if (tid == 0) {
            q = 1.0 - dt / pop%(pre)s->taux;
            qpow[0] = qinv[0] = 1.0;
            for (int k = 1; k <= K; k++) { qpow[k] = qpow[k-1] * q; qinv[k] = qinv[k-1] / q; }
            for (int i = 0; i < %(n_post)d; i++) C[0][i] = 0.0;
            books.assign(nt, ColumnBook());
            for (int th = 0; th < nt; th++) {
                ColumnBook &b = books[th];
                // Entered at step t: the previous step closes an (empty) period.
                b.base_t = t - 1;
                if (D > 1) {
                    const int r0 = th * %(n_post)d / nt, r1 = (th + 1) * %(n_post)d / nt;
                    for (int L = 0; L < D; L++) b.rows[L].assign(%(n_pre)d, std::vector<int>());
                    for (int i = r0; i < r1; i++)
                        for (int j = 0; j < %(n_pre)d; j++) b.rows[lag(i, j)][j].push_back(i);
                }
                for (int L = 0; L < D; L++) {
                    b.sent_hist[L].assign(%(n_pre)d, 0.0);
                    b.last_k[L].assign(%(n_pre)d, 0);
                    // Histories start filled with the current values, as ANNarchy's delay buffers.
                    b.spike_hist[L].assign(pop%(pre)s->Spike.begin(), pop%(pre)s->Spike.end());
                    b.x_hist[L].assign(pop%(pre)s->xtrace.begin(), pop%(pre)s->xtrace.end());
                    b.X[L].resize(%(n_pre)d);
                    for (int j = 0; j < %(n_pre)d; j++) b.X[L][j] = pop%(pre)s->xtrace[j] / q;
                }
            }
            if (!restored_book.empty()) {            // continue from a checkpoint
                for (auto &b : books) unpack_book(b, restored_book);
                restored_book.clear();
            }%(check_rows)s
            clopath_ready = true;
        }
        #pragma omp barrier
    }

    // Checkpoints: the bookkeeping of thread 0 (every thread keeps the same), as doubles:
    // base_t, then per lag: last_k, X, spike_hist, x_hist, sent_hist [n_pre each].
    std::vector<double> pack_book() {
        if (!restored_book.empty()) return restored_book;   // restored, not yet applied
        std::vector<double> s;
        if (!clopath_ready || books.empty()) return s;   // never simulated: fresh start
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
        const int n = %(n_pre)d;
        auto it = s.begin();
        b.base_t = (long int)*it++;
        for (int L = 0; L < D; L++) {
            for (int j = 0; j < n; j++) b.last_k[L][j] = (int)*it++;
            for (int j = 0; j < n; j++) b.X[L][j] = *it++;
            for (int j = 0; j < n; j++) b.spike_hist[L][j] = *it++;
            for (int j = 0; j < n; j++) b.x_hist[L][j] = *it++;
            for (int j = 0; j < n; j++) b.sent_hist[L][j] = *it++;
        }
    }
    int book_size() { return 1 + %(n_pre)d * 5 * D; }

    // LTP of synapse (i, j) from the end of step a to the end of step b of the period.
    inline void flush(const int i, const int j, const int a, const int b, const double Xj, const double _dt) {
        if (b <= a) return;
        double &w_ij = W(i, j);
        if (!(w_ij < wMax)) return;                  // LTP off; nothing else acts in between
        const double inc = _dt * Xj * qinv[a] * (C[b][i] - C[a][i]);
        if (w_ij + inc < wMax) { w_ij += inc; return; }
        double x = Xj;                               // passes wMax: replay the steps
        for (int k = a + 1; k <= b && w_ij < wMax; k++) { x *= q; w_ij += _dt * x * A[k][i]; }
    }

    // The same two updates for rows i0..i1 of a contiguous column (dense storage),
    // written so that the compiler vectorises them. Identical arithmetic: each row
    // gets exactly the operations of flush() / literal(), in the same order.
    static const bool CONTIGUOUS = %(contiguous)s;    // W(i, j) = column(j)[i]
    inline double* column(const int j) { return %(column)s; }

    inline void flush_column(double *wc, const int a, const int b, const double Xj, const double _dt,
                             const int i0, const int i1) {
        if (b <= a) return;
        const double f = _dt * Xj * qinv[a];
        const double *Cb = C[b], *Ca = C[a];
        unsigned char replay[%(n_post)d];
        int any = 0;
        #pragma omp simd reduction(|:any)
        for (int i = i0; i < i1; i++) {
            const double w0 = wc[i];
            const double w1 = w0 + f * (Cb[i] - Ca[i]);
            const bool below = w0 < wMax, ok = below && (w1 < wMax);
            wc[i] = ok ? w1 : w0;
            replay[i] = below && !ok;               // would pass wMax: replayed below
            any |= replay[i];
        }
        if (!any) return;
        for (int i = i0; i < i1; i++) {
            if (!replay[i]) continue;
            double x = Xj;
            for (int k = a + 1; k <= b && wc[i] < wMax; k++) { x *= q; wc[i] += _dt * x * A[k][i]; }
        }
    }

    inline void literal_column(double *wc, const double spike_j, const double xtrace_j, const double _dt,
                               const int i0, const int i1) {
        const double *vmean = pop%(post)s->vmean.data(), *uLTD = pop%(post)s->umeanLTD.data();
        const double *uLTP = pop%(post)s->umeanLTP.data(), *vm = pop%(post)s->vm.data();
        #pragma omp simd
        for (int i = i0; i < i1; i++) {
            double w_ij = wc[i];
            double ltd = (w_ij > wMin ? vmean[i]*spike_j*aLTD*positive(uLTD[i] - thetaLTD)/urefsquare : 0.0);
            double ltp = (w_ij < wMax ? xtrace_j*aLTP*positive(uLTP[i] - thetaLTD)*positive(vm[i] - thetaLTP) : 0.0);
            w_ij += _dt*(-ltd + ltp);
            wc[i] = (w_ij < 0.0) ? 0.0 : w_ij;
        }
    }

    // The literal update of synapse (i, j) at this step, in ANNarchy's operation order.
    inline void literal(const int i, const int j, const double spike_j, const double xtrace_j, const double _dt) {
        double &w_ij = W(i, j);
        double ltd = (w_ij > wMin ? pop%(post)s->vmean[i]*spike_j*aLTD*positive(pop%(post)s->umeanLTD[i] - thetaLTD)/urefsquare : 0.0);
        double ltp = (w_ij < wMax ? xtrace_j*aLTP*positive(pop%(post)s->umeanLTP[i] - thetaLTD)*positive(pop%(post)s->vm[i] - thetaLTP) : 0.0);
        w_ij += _dt*(-ltd + ltp);
        if (w_ij < 0.0) w_ij = 0.0;
    }

    void clopath_step(const int tid, const int nt) {
        if (!clopath_ready || (int)books.size() != nt || t - books[tid].base_t > K)
            clopath_init(tid, nt);                   // first step, or learning was paused
        ColumnBook &book = books[tid];
        const double _dt = dt * _update_period;
        const int k = (int)(t - book.base_t);
        const bool period_end = (k == K) || ((t + 1) %% K == 0);
        const int i0 = tid * %(n_post)d / nt, i1 = (tid + 1) * %(n_post)d / nt;

        for (int i = i0; i < i1; i++) {
            const double a_i = _plasticity ? aLTP*positive(pop%(post)s->umeanLTP[i] - thetaLTD)*positive(pop%(post)s->vm[i] - thetaLTP) : 0.0;
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
        std::copy(pop%(pre)s->Spike.begin(), pop%(pre)s->Spike.end(), book.spike_hist[0].begin());
        std::copy(pop%(pre)s->xtrace.begin(), pop%(pre)s->xtrace.end(), book.x_hist[0].begin());
        // Spikes of this step: the synapses of lag L transmit them after step t + L.
        std::fill(book.sent_hist[0].begin(), book.sent_hist[0].end(), 0.0);
        for (int j : pop%(pre)s->spiked) book.sent_hist[0][j] = 1.0;

        enum Action { NONE, THROUGH_K, LTD_STEP };
        for (int j = 0; j < %(n_pre)d; j++) {
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
"""


# Spike transmission with non-uniform delays (LIL, complete rows in rank order).
# The same ring buffer and the same order of additions per row as ANNarchy's
# generated code, with the rows split over threads as in clopath_step(): ANNarchy's
# OpenMP version synchronises once per postsynaptic row and locks every push
# (60x slower at 2 threads than at 1, and its push order depends on the schedule).
_DELAYED_PSP = """
    void delayed_psp(const int tid, const int nt) {
        if (!(_transmission && pop%(post)s->_active)) return;
        const int i0 = tid * %(n_post)d / nt, i1 = (tid + 1) * %(n_post)d / nt;
        for (int rk_pre : pop%(pre)s->spiked) {
            for (int i = i0; i < i1; i++)   // column rk_pre of a complete row i is rank rk_pre
                _delayed_spikes[(idx_delay + delay[i][rk_pre] - 1) %% max_delay][i].push_back(rk_pre);
        }
        for (int i = i0; i < i1; i++) {
            std::vector<int> &due = _delayed_spikes[idx_delay][i];
            for (int j : due) pop%(post)s->g_%(target)s[post_rank[i]] += w[i][j];
            due.clear();
        }
        #pragma omp barrier
        #pragma omp single
        idx_delay = (idx_delay + 1) %% max_delay;   // every thread has used it (implicit barrier after)
    }
"""


class FastClopathProjection(SpecificProjection):
    """Clopath projection with a sparse-in-time update (dense all-to-all storage).

    Same synapse parameters, weights and spike transmission as the literal
    ``clopath_synapse``; only the per-step weight update is generated here.
    Connect it all-to-all with ``storage_format="dense", storage_order="pre_to_post"``
    (columns contiguous), or ``storage_format="lil"`` where delays are non-uniform.
    Weights are current at the end of every ``flush_period`` steps.
    """

    def __init__(self, pre, post, target, params: ClopathParams, flush_period: int, name=None,
                 copied=False, net_id=0):
        self.params = params
        self.flush_period = int(flush_period)
        synapse = ann.Synapse(
            parameters=_parameter_block(params),
            # A projection-level variable whose generated statement becomes the
            # call to clopath_step(); ANNarchy places it in update_synapse(),
            # i.e. after the neurons of this step are updated, as the literal rule.
            equations="plasticity_step = 0.0 : projection",
            pre_spike="g_target += w",
            name="Clopath (fast)",
        )
        super().__init__(pre, post, target, synapse=synapse, name=name, copied=copied, net_id=net_id)
        self.synapse_type.description["functions"] += [
            {"name": "ckpt_get_book", "cpp": "std::vector<double> ckpt_get_book() { return pack_book(); }"},
            {"name": "ckpt_set_book", "cpp": "bool ckpt_set_book(std::vector<double> s) { "
                                             "if (!s.empty() && (int)s.size() != book_size()) return false; "
                                             "restored_book = s; books.clear(); clopath_ready = false; return true; }"},
        ]

    # -- checkpoints (models/checkpoint.py) ------------------------------------------
    def get_rule_state(self):
        """The per-column bookkeeping, valid between patches (empty before the first step)."""
        return self.cyInstance.ckpt_get_book()

    def set_rule_state(self, state) -> None:
        if not self.cyInstance.ckpt_set_book([float(v) for v in state]):
            raise ValueError(f"{self.name}: Clopath bookkeeping of {len(state)} values does not fit this projection")

    def _copy(self, pre, post, net_id=None):
        return FastClopathProjection(pre, post, self.target, self.params, self.flush_period,
                                     name=self.name, copied=True,
                                     net_id=self.net_id if net_id is None else net_id)

    def _generate_code(self, call: str):
        if self.pre is self.post:
            raise ValueError(f"{self.name}: the fast Clopath projection needs all-to-all between two populations")
        if self._storage_format == "dense":
            # Stored pre-major (storage_order="pre_to_post"): a column is contiguous.
            if self._storage_order != "pre_to_post":
                raise ValueError(f"{self.name}: the fast Clopath projection needs storage_order='pre_to_post'")
            w_access, check_rows = f"w[j*{self.post.size} + i]", ""
            contiguous, column = "true", f"w.data() + (size_t)j*{self.post.size}"
            lag = str(max(0, self.uniform_delay - 1)) if self.uniform_delay > 1 else "0"
        elif self._storage_format == "lil":
            # LIL (needed for non-uniform delays): rows must be complete and in rank order.
            w_access = "w[i][j]"
            contiguous, column = "false", "nullptr"
            if self.uniform_delay == -1:
                lag = "(delay[i][j] - 1)"            # per-synapse delays, in steps
            else:
                lag = str(max(0, self.uniform_delay - 1))
            check_rows = f"""
            for (int i = 0; i < (int)post_rank.size(); i++) {{
                bool ok = post_rank[i] == i && (int)pre_rank[i].size() == {self.pre.size};
                for (int j = 0; ok && j < {self.pre.size}; j++) ok = pre_rank[i][j] == j;
                if (!ok) {{ std::cerr << "{self.name}: fast Clopath needs complete all-to-all rows" << std::endl; std::abort(); }}
            }}"""
        else:
            raise ValueError(f"{self.name}: the fast Clopath projection needs dense or lil storage")
        self._specific_template["declare_additional"] = _CLOPATH_STEP % dict(
            pre=self.pre.id, post=self.post.id, n_pre=self.pre.size, n_post=self.post.size,
            period=self.flush_period, w_access=w_access, lag=lag, check_rows=check_rows,
            contiguous=contiguous, column=column,
            max_delay=self._max_delay_steps())
        if self._storage_format == "lil" and self.uniform_delay == -1:
            self._specific_template["declare_additional"] += _DELAYED_PSP % dict(
                pre=self.pre.id, post=self.post.id, n_post=self.post.size, target=self.target)
            self._specific_template["psp_prefix"] = ""
            self._specific_template["psp_code"] = "delayed_psp(%s);" % call[call.index("(") + 1:call.index(")")]
        for var in self.synapse_type.description["variables"]:
            if var["name"] == "plasticity_step":
                var["cpp"] = call

    def _max_delay_steps(self) -> int:
        """Longest axonal delay in steps (1 without delays: transmitted on the next step)."""
        return max(1, self.max_delay)   # ANNarchy stores it in steps

    def _generate_st(self):
        self._generate_code("clopath_step(0, 1);")

    def _generate_omp(self):
        self._generate_code("clopath_step(tid, nt);")

    def _generate_cuda(self):
        raise NotImplementedError("the fast Clopath projection has no CUDA version: use --variant literal")
