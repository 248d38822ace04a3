// Spike transmission with each synapse's own delay, shared by the kernels that keep their
// delays themselves (clopath.hpp, delayed_static.hpp; rules/fast.py appends this file to
// them). A spike of cell j emitted at step e reaches the rows of lag L = delay - 1 at step
// e + L + 1. Per row, the additions come in ANNarchy's order for delayed spikes: oldest
// emission first, and within one step in the order of the presynaptic spike list.
// book.ring[e % D]: the spikes emitted at step e; book.rows[L][j]: this thread's rows i
// with lag L from presynaptic cell j; column(j): the weights of cell j (pre-major).
template <class Book>
void deliver_delayed(const Book &book, double *g) {
    for (int L = D - 1; L >= 0; L--) {
        const long int emitted = t - 1 - L;
        if (emitted < 0) continue;
        for (int j : book.ring[emitted % D]) {
            const double *wc = column(j);
            for (int i : book.rows[L][j]) g[i] += wc[i];
        }
    }
}
