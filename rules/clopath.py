"""Voltage-based STDP of Clopath et al. (2010), Nat Neurosci 13:344 (MODEL_SPEC 3).

    dw/dt = -LTD + LTP,  w >= 0
    LTD = aLTD * (post.vmean / urefsquare) * pre.Spike * [post.umeanLTD - thetaLTD]+   (only while w > wMin)
    LTP = aLTP * [post.vm - thetaLTP]+ * pre.xtrace * [post.umeanLTP - thetaLTD]+       (only while w < wMax)

A presynaptic spike adds w to the target conductance.

The fast form (``FastClopathProjection``) visits, each step, only synapses
whose update can be non-zero. LTD needs a presynaptic ``Spike`` (1 on one step
per spike): its columns are few. LTP needs an open postsynaptic gate
(vm > thetaLTP and umeanLTP > thetaLTD, true for ~40 % of E cells because the
after-potential holds vm up after each spike) *and* a presynaptic trace: LGN
cells fire rarely, so few columns carry a trace worth adding. On the visited
synapses it evaluates the literal expression with ANNarchy's operation order;
elsewhere the literal update adds exactly zero (LTD) or less than
XTRACE_NEGLIGIBLE of a spike's trace (LTP, see below).
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
    static const int K = %(period)d;           // steps per period
    double q = 0.0;                             // trace decay per step
    double qpow[K + 1], qinv[K + 1];            // q^k, q^-k
    double C[K + 1][%(n_post)d];                // C_i(k)
    double A[K + 1][%(n_post)d];                // A_i(k), for replays
    int last_k[%(n_pre)d];                      // k of the last update of column j
    double X[%(n_pre)d];                        // x_j at that update
    long int base_t = -1;                       // step that ends the previous period
    long int eager_until[%(n_pre)d];            // column j is kept current until this step
    bool clopath_ready = false;

    // All-to-all connectivity: row i holds presynaptic ranks 0..n_pre-1 in order.
    inline double& W(const int i, const int j) { return %(w_access)s; }

    void clopath_init(const int tid) {
        // Every thread has evaluated the entry condition on the same state before any
        // thread writes it (OpenMP: the whole step runs inside one parallel region).
        #pragma omp barrier
        if (tid == 0) {
            q = 1.0 - dt / pop%(pre)s->taux;
            qpow[0] = qinv[0] = 1.0;
            for (int k = 1; k <= K; k++) { qpow[k] = qpow[k-1] * q; qinv[k] = qinv[k-1] / q; }
            for (int i = 0; i < %(n_post)d; i++) C[0][i] = 0.0;
            // Entered at step t: the previous step closes an (empty) period.
            base_t = t - 1;
            for (int j = 0; j < %(n_pre)d; j++) {
                last_k[j] = 0; X[j] = pop%(pre)s->xtrace[j] / q; eager_until[j] = t - 1;
            }%(check_rows)s
            clopath_ready = true;
        }
        #pragma omp barrier
    }

    // Bring synapse (i, j) from the end of step a to the end of step b of the period (LTP only).
    inline void flush(const int i, const int j, const int a, const int b, const double _dt) {
        if (b <= a) return;
        double &w_ij = W(i, j);
        if (!(w_ij < wMax)) return;                 // LTP off; nothing else acts in between
        const double dC = C[b][i] - C[a][i];
        if (dC == 0.0) return;
        const double inc = _dt * X[j] * qinv[a] * dC;
        if (w_ij + inc < wMax) { w_ij += inc; return; }
        double x = X[j];                            // passes wMax: replay the steps
        for (int k = a + 1; k <= b && w_ij < wMax; k++) { x *= q; w_ij += _dt * x * A[k][i]; }
    }

    // The literal update of synapse (i, j) at this step, in ANNarchy's operation order.
    inline void literal(const int i, const int j, const double _dt) {
        double &w_ij = W(i, j);
        double ltd = (w_ij > wMin ? pop%(post)s->vmean[i]*pop%(pre)s->Spike[j]*aLTD*positive(pop%(post)s->umeanLTD[i] - thetaLTD)/urefsquare : 0.0);
        double ltp = (w_ij < wMax ? pop%(pre)s->xtrace[j]*aLTP*positive(pop%(post)s->umeanLTP[i] - thetaLTD)*positive(pop%(post)s->vm[i] - thetaLTP) : 0.0);
        w_ij += _dt*(-ltd + ltp);
        if (w_ij < 0.0) w_ij = 0.0;
    }

    void clopath_step(const int tid, const int nt) {
        if (!clopath_ready || t - base_t > K) clopath_init(tid);   // first step, or learning was paused
        const double _dt = dt * _update_period;
        const int k = (int)(t - base_t);
        const bool period_end = (k == K) || ((t + 1) %% K == 0);

        // Rows are owned by threads (i = tid, tid + nt, ...): no two threads touch one synapse.
        for (int i = tid; i < %(n_post)d; i += nt) {
            const double a_i = _plasticity ? aLTP*positive(pop%(post)s->umeanLTP[i] - thetaLTD)*positive(pop%(post)s->vm[i] - thetaLTP) : 0.0;
            A[k][i] = a_i;
            C[k][i] = C[k-1][i] + a_i * qpow[k];
        }
        // Columns updated at this step: Spike = 1 (literal update); spiked within the
        // last max_delay steps (their weights are transmitted up to max_delay steps
        // later and must be current then); all of them at the end of a period.
        static thread_local std::vector<int> spike_cols, sent_cols;
        static thread_local std::vector<char> sent(%(n_pre)d, 0);
        spike_cols.clear(); sent_cols.clear();
        for (int j : pop%(pre)s->spiked) sent[j] = 1;
        for (int j = 0; j < %(n_pre)d; j++) {
            if (pop%(pre)s->Spike[j] != 0.0) spike_cols.push_back(j);
            else if (sent[j] || eager_until[j] >= t) sent_cols.push_back(j);
        }
        for (int j : pop%(pre)s->spiked) sent[j] = 0;

        for (int i = tid; i < %(n_post)d; i += nt) {
            for (int j : spike_cols) {
                flush(i, j, last_k[j], k - 1, _dt);
                if (_plasticity) literal(i, j, _dt);
            }
            if (period_end) {
                for (int j = 0; j < %(n_pre)d; j++)
                    if (pop%(pre)s->Spike[j] == 0.0) flush(i, j, last_k[j], k, _dt);
            } else {
                for (int j : sent_cols) flush(i, j, last_k[j], k, _dt);
            }
        }
        #pragma omp barrier
        if (tid == 0) {
            for (int j : pop%(pre)s->spiked) eager_until[j] = t + %(max_delay)d - 1;
            if (period_end) {
                base_t = t;
                for (int j = 0; j < %(n_pre)d; j++) { last_k[j] = 0; X[j] = pop%(pre)s->xtrace[j]; }
                for (int i = 0; i < %(n_post)d; i++) C[0][i] = 0.0;
            } else {
                for (int j : spike_cols) { last_k[j] = k; X[j] = pop%(pre)s->xtrace[j]; }
                for (int j : sent_cols) { last_k[j] = k; X[j] = pop%(pre)s->xtrace[j]; }
            }
        }
    }
"""


class FastClopathProjection(SpecificProjection):
    """Clopath projection with a sparse-in-time update (dense all-to-all storage).

    Same synapse parameters, weights and spike transmission as the literal
    ``clopath_synapse``; only the per-step weight update is generated here.
    Connect it with ``all_to_all(..., storage_format="dense")``.
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

    def _copy(self, pre, post, net_id=None):
        return FastClopathProjection(pre, post, self.target, self.params, self.flush_period,
                                     name=self.name, copied=True,
                                     net_id=self.net_id if net_id is None else net_id)

    def _generate_code(self, call: str):
        if self.pre is self.post:
            raise ValueError(f"{self.name}: the fast Clopath projection needs all-to-all between two populations")
        if self._storage_format == "dense":
            w_access, check_rows = f"w[i*{self.pre.size} + j]", ""
        elif self._storage_format == "lil":
            # LIL (needed for non-uniform delays): rows must be complete and in rank order.
            w_access = "w[i][j]"
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
            period=self.flush_period, w_access=w_access, check_rows=check_rows,
            max_delay=self._max_delay_steps())
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
