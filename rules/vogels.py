"""Inhibitory STDP of Vogels et al. (2011), Science 334:1569, in the (1 + w)
variant of this model (MODEL_SPEC 3).

Traces tracePre and tracePost decay with taupre (explicit Euler, every step).
    presynaptic spike:  g_Inh += w;  w += aPlus*(tracePost - Offset)*(1 + w);  tracePre += 1
    postsynaptic spike: w += aPlus*tracePre*(1 + w);  tracePost += 1
After each update w is clipped to [hMin, hMax].

Why the fast form is exact: every synapse leaving presynaptic cell j sees the
same spikes and the same decay, so its tracePre is one number per presynaptic
cell (likewise tracePost per postsynaptic cell). The fast projection keeps
those per-cell traces and applies the same operations in the same order as
ANNarchy's generated code for the literal synapse: pre-spike events in
compute_psp(), decay in update_synapse(), post-spike events after the decay.
"""
from models.annarchy_env import prepare_environment

prepare_environment()
import ANNarchy as ann  # noqa: E402
from ANNarchy.intern.SpecificProjection import SpecificProjection  # noqa: E402

from models.parameters import VogelsParams  # noqa: E402


def _parameter_block(p: VogelsParams) -> str:
    return "\n".join(
        f"{name} = {value!r} : projection"
        for name, value in (("taupre", p.taupre), ("aPlus", p.aPlus), ("Offset", p.Offset),
                            ("hMin", p.hMin), ("hMax", p.hMax))
    )


def vogels_synapse(p: VogelsParams) -> ann.Synapse:
    """The literal Vogels synapse: per-synapse traces, decayed every step."""
    return ann.Synapse(
        parameters=_parameter_block(p),
        equations="""
            dtracePre/dt = -tracePre/taupre
            dtracePost/dt = -tracePost/taupre
        """,
        pre_spike="""
            g_target += w
            w = clip(w + aPlus*(tracePost - Offset)*(1 + w), hMin, hMax)
            tracePre += 1
        """,
        post_spike="""
            w = clip(w + aPlus*tracePre*(1 + w), hMin, hMax)
            tracePost += 1
        """,
        name="Vogels iSTDP (literal)",
    )


# Expressions in the order ANNarchy 5 generates them for the literal synapse.
_VOGELS_CODE = """
    // Fast Vogels iSTDP (rules/vogels.py): per-cell traces instead of per-synapse ones.
    // Threads own rows i = tid, tid + nt, ... (postsynaptic cells, with their tracePost);
    // each thread keeps its own identical copy of the presynaptic traces, so no barrier.
    std::vector<double> trace_post = std::vector<double>(%(n_post)d, 0.0);
    std::vector<std::vector<double>> trace_pre;      // [thread][presynaptic cell]
    std::vector<std::vector<int>> pre_spiked_last;   // [thread]: spikes delivered this step
    std::vector<double> restored_pre;                // from a checkpoint, applied by vogels_init

    void vogels_init(const int nt) {
        #pragma omp barrier
        #pragma omp single
        {
            trace_pre.assign(nt, restored_pre.empty() ? std::vector<double>(%(n_pre)d, 0.0) : restored_pre);
            restored_pre.clear();
            pre_spiked_last.assign(nt, std::vector<int>());
        }
    }

    // Checkpoints: tracePost of every postsynaptic cell, then tracePre (thread 0's copy).
    std::vector<double> ckpt_get_traces() {
        std::vector<double> s(trace_post.begin(), trace_post.end());
        if (trace_pre.empty() && !restored_pre.empty()) s.insert(s.end(), restored_pre.begin(), restored_pre.end());
        else if (trace_pre.empty()) s.insert(s.end(), %(n_pre)d, 0.0);
        else s.insert(s.end(), trace_pre[0].begin(), trace_pre[0].end());
        return s;
    }
    bool ckpt_set_traces(std::vector<double> s) {
        if ((int)s.size() != %(n_post)d + %(n_pre)d) return false;
        trace_post.assign(s.begin(), s.begin() + %(n_post)d);
        restored_pre.assign(s.begin() + %(n_post)d, s.end());
        trace_pre.clear();                           // re-initialised on the next step
        return true;
    }

    void vogels_psp(const int tid, const int nt) {
        if ((int)trace_pre.size() != nt) vogels_init(nt);
        if (!(_transmission && pop%(post)s->_active)) return;
        const std::vector<int> &spiked = pop%(pre)s->spiked;
        for (int i = tid; i < %(n_post)d; i += nt) {
            const double tpost = trace_post[i];
            for (int s = 0; s < (int)spiked.size(); s++) {
                const int idx = i*%(n_pre)d + spiked[s];
                if (!mask_[idx]) continue;
                pop%(post)s->g_%(target)s[i] += w[idx];
                if (_plasticity)
                    w[idx] = clip(aPlus*(tpost - Offset)*(w[idx] + 1) + w[idx], hMin, hMax);
            }
        }
        pre_spiked_last[tid].assign(spiked.begin(), spiked.end());
    }

    void vogels_step(const int tid, const int nt) {
        if (!(_transmission && pop%(post)s->_active)) return;
        const double _dt = dt * _update_period;
        std::vector<double> &tpre = trace_pre[tid];
        // Order of the literal synapse: tracePre += 1 (pre-spike event), decay, post-spike events.
        for (int j : pre_spiked_last[tid]) tpre[j] += 1;
        for (int j = 0; j < %(n_pre)d; j++) tpre[j] += _dt*(-tpre[j]/taupre);
        for (int i = tid; i < %(n_post)d; i += nt) trace_post[i] += _dt*(-trace_post[i]/taupre);
        for (int i : pop%(post)s->spiked) {
            if (i %% nt != tid) continue;
            if (_plasticity) {
                for (int j = 0; j < %(n_pre)d; j++) {
                    const int idx = i*%(n_pre)d + j;
                    if (!mask_[idx]) continue;
                    w[idx] = clip(aPlus*tpre[j]*(w[idx] + 1) + w[idx], hMin, hMax);
                }
            }
            trace_post[i] += 1;
        }
    }
"""


class FastVogelsProjection(SpecificProjection):
    """Vogels projection with per-cell traces (dense all-to-all storage)."""

    def __init__(self, pre, post, target, params: VogelsParams, name=None, copied=False, net_id=0):
        self.params = params
        synapse = ann.Synapse(
            parameters=_parameter_block(params),
            # Call site of vogels_step() inside update_synapse(), see FastClopathProjection.
            equations="plasticity_step = 0.0 : projection",
            pre_spike="g_target += w",
            name="Vogels iSTDP (fast)",
        )
        super().__init__(pre, post, target, synapse=synapse, name=name, copied=copied, net_id=net_id)
        # The accessors' bodies are in _VOGELS_CODE; listing them here binds them to Python.
        self.synapse_type.description["functions"] += [
            {"name": "ckpt_get_traces", "cpp": ""}, {"name": "ckpt_set_traces", "cpp": ""}]

    # -- checkpoints (models/checkpoint.py) ------------------------------------------
    def get_rule_state(self):
        """tracePost per postsynaptic cell, then tracePre per presynaptic cell."""
        return self.cyInstance.ckpt_get_traces()

    def set_rule_state(self, state) -> None:
        if not self.cyInstance.ckpt_set_traces([float(v) for v in state]):
            raise ValueError(f"{self.name}: {len(state)} trace values do not fit this projection")

    def _copy(self, pre, post, net_id=None):
        return FastVogelsProjection(pre, post, self.target, self.params, name=self.name, copied=True,
                                    net_id=self.net_id if net_id is None else net_id)

    def _generate_code(self, args: str):
        if self._storage_format != "dense":
            raise ValueError(f"{self.name}: the fast Vogels projection needs storage_format='dense'")
        self._specific_template["declare_additional"] = _VOGELS_CODE % dict(
            pre=self.pre.id, post=self.post.id, n_pre=self.pre.size, n_post=self.post.size,
            target=self.target)
        self._specific_template["psp_prefix"] = ""
        self._specific_template["psp_code"] = f"vogels_psp({args});"
        for var in self.synapse_type.description["variables"]:
            if var["name"] == "plasticity_step":
                var["cpp"] = f"vogels_step({args});"

    def _generate_st(self):
        self._generate_code("0, 1")

    def _generate_omp(self):
        self._generate_code("tid, nt")

    def _generate_cuda(self):
        raise NotImplementedError("the fast Vogels projection has no CUDA version: use --variant literal")
