"""Voltage-based STDP of Clopath et al. (2010), Nat Neurosci 13:344 (MODEL_SPEC 3).

    dw/dt = -LTD + LTP,  w >= 0
    LTD = aLTD * (post.vmean / urefsquare) * pre.Spike * [post.umeanLTD - thetaLTD]+   (only while w > wMin)
    LTP = aLTP * [post.vm - thetaLTP]+ * pre.xtrace * [post.umeanLTP - thetaLTD]+       (only while w < wMax)

A presynaptic spike adds w to the target conductance.

Why the fast form is exact: LTD is non-zero only in columns whose presynaptic
``Spike`` is 1, LTP only in rows whose postsynaptic ``vm`` is above thetaLTP
(and ``umeanLTP`` above thetaLTD). Everywhere else the literal update adds an
exact zero. The fast projection evaluates the literal expression, with the
same operation order as ANNarchy's generated code, on exactly those rows and
columns, so both forms produce the same bits.
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


# The update body, shared by the active-row and the spiking-column passes.
# The products are in the order ANNarchy 5 generates for the literal synapse
# (sympy canonical order), which makes the two forms bit-identical.
_CLOPATH_BODY = """
                    double &w_ij = w[%(idx)s];
                    double ltd = (w_ij > wMin ? post_vmean*pop%(pre)s->Spike[j]*aLTD*positive(post_umeanLTD - thetaLTD)/urefsquare : 0.0);
                    double ltp = (w_ij < wMax ? pop%(pre)s->xtrace[j]*aLTP*positive(post_umeanLTP - thetaLTD)*positive(post_vm - thetaLTP) : 0.0);
                    w_ij += _dt*(-ltd + ltp);
                    if (w_ij < 0.0) w_ij = 0.0;"""

_CLOPATH_STEP = """
    // Fast Clopath update (rules/clopath.py): only rows with an open LTP gate
    // and columns with a presynaptic Spike are visited; elsewhere the literal
    // rule adds exactly zero.
    void clopath_step(const int tid, const int nt) {
        if (!_plasticity) return;
        const double _dt = dt * _update_period;
        int ltp_rows[%(n_post)d], n_ltp = 0;
        int other_rows[%(n_post)d], n_other = 0;
        int spiking_cols[%(n_pre)d], n_spk = 0;
        for (int i = 0; i < %(n_post)d; i++) {
            if (positive(pop%(post)s->umeanLTP[i] - thetaLTD) > 0.0 && positive(pop%(post)s->vm[i] - thetaLTP) > 0.0)
                ltp_rows[n_ltp++] = i;
            else
                other_rows[n_other++] = i;
        }
        for (int j = 0; j < %(n_pre)d; j++)
            if (pop%(pre)s->Spike[j] != 0.0) spiking_cols[n_spk++] = j;

        // Rows with LTP: every synapse of the row.
        for (int k = tid; k < n_ltp; k += nt) {
            const int i = ltp_rows[k];
            const double post_vmean = pop%(post)s->vmean[i], post_vm = pop%(post)s->vm[i];
            const double post_umeanLTD = pop%(post)s->umeanLTD[i], post_umeanLTP = pop%(post)s->umeanLTP[i];
            for (int j = 0; j < %(n_pre)d; j++) {
                if (!mask_[i*%(n_pre)d + j]) continue;%(body_row)s
            }
        }
        // Other rows: LTD in the columns of spiking presynaptic cells.
        if (n_spk == 0) return;
        for (int k = tid; k < n_other; k += nt) {
            const int i = other_rows[k];
            const double post_vmean = pop%(post)s->vmean[i], post_vm = pop%(post)s->vm[i];
            const double post_umeanLTD = pop%(post)s->umeanLTD[i], post_umeanLTP = pop%(post)s->umeanLTP[i];
            for (int s = 0; s < n_spk; s++) {
                const int j = spiking_cols[s];
                if (!mask_[i*%(n_pre)d + j]) continue;%(body_col)s
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

    def __init__(self, pre, post, target, params: ClopathParams, name=None, copied=False, net_id=0):
        self.params = params
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
        return FastClopathProjection(pre, post, self.target, self.params, name=self.name, copied=True,
                                     net_id=self.net_id if net_id is None else net_id)

    def _generate_code(self, call: str):
        if self._storage_format != "dense":
            raise ValueError(f"{self.name}: the fast Clopath projection needs storage_format='dense'")
        fmt = dict(pre=self.pre.id, post=self.post.id, n_pre=self.pre.size, n_post=self.post.size)
        body = _CLOPATH_BODY % dict(fmt, idx=f"i*{self.pre.size} + j")
        self._specific_template["struct_additional"] = ""
        step = _CLOPATH_STEP % dict(fmt, body_row=_indent(body, 4), body_col=_indent(body, 4))
        self._specific_template["declare_additional"] = step
        for var in self.synapse_type.description["variables"]:
            if var["name"] == "plasticity_step":
                var["cpp"] = call

    def _generate_st(self):
        self._generate_code("clopath_step(0, 1);")

    def _generate_omp(self):
        self._generate_code("clopath_step(tid, nt);")

    def _generate_cuda(self):
        raise NotImplementedError("the fast Clopath projection has no CUDA version: use --variant literal")


def _indent(code: str, spaces: int) -> str:
    return "\n".join((" " * spaces + line) if line.strip() else line for line in code.split("\n"))
