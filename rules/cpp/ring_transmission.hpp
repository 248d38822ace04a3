// Axonal delays kept by the kernel itself, shared by clopath.hpp (with delays) and
// delayed_static.hpp; rules/fast.py appends this file to them. Each synapse has a lag
// L = delay - 1 (steps); a spike of cell j emitted at step e reaches the rows of lag L at
// step e + L + 1. A thread's book holds ring[e % D], the spikes emitted at step e, its rows
// [r0, r1) and (clopath.hpp) rows[L][j], those of its rows i with lag L from presynaptic cell j.

std::vector<int> lags;                       // [j*N_POST + i] = delay - 1 (steps), from set_lags
bool lags_fit(const std::vector<int> &v) const {
    if ((int)v.size() != N_PRE * N_POST) return false;
    for (int x : v) if (x < 0 || x >= D) return false;
    return true;
}

// Thread th of nt owns the contiguous rows [th*N_POST/nt, (th+1)*N_POST/nt).
template <class Book>
void own_rows(Book &b, const int th, const int nt) {
    b.r0 = th * N_POST / nt;
    b.r1 = (th + 1) * N_POST / nt;
}
// ... and, for a learning rule, the lists of its rows with each lag from each cell.
template <class Book>
void index_rows(Book &b, const int th, const int nt) {
    own_rows(b, th, nt);
    for (int L = 0; L < D; L++) b.rows[L].assign(N_PRE, std::vector<int>());
    for (int i = b.r0; i < b.r1; i++)
        for (int j = 0; j < N_PRE; j++) b.rows[lags[(size_t)j * N_POST + i]][j].push_back(i);
}

// Checkpoints of the spikes in flight: per ring slot its length, then its ranks.
template <class Book>
void pack_ring(const Book &b, std::vector<double> &s) const {
    for (int m = 0; m < D; m++) {
        s.push_back((double)b.ring[m].size());
        s.insert(s.end(), b.ring[m].begin(), b.ring[m].end());
    }
}
template <class Book>
void unpack_ring(Book &b, std::vector<double>::const_iterator &it) {
    for (int m = 0; m < D; m++) {
        const int n = (int)*it++;
        b.ring[m].assign(it, it + n);
        it += n;
    }
}

// Transmission. Per row, the additions come in ANNarchy's order for delayed spikes:
// oldest emission first, and within one step in the order of the presynaptic spike list.
// column(j): the weights of cell j (pre-major). A spike of j at lag L goes through all the
// thread's rows and adds to those of lag L only (a masked addition; the other rows keep
// their value, bit for bit): a loop that vectorises, about twice as fast as the scattered
// additions to rows[L][j] (a third of the rows each, with delays of 1-3 steps).
template <class Book>
void deliver_delayed(const Book &book, double *g) {
    for (int L = D - 1; L >= 0; L--) {
        const long int emitted = t - 1 - L;
        if (emitted < 0) continue;
        for (int j : book.ring[emitted % D]) {
            const double *wc = column(j);
            const int *lag = lags.data() + (size_t)j * N_POST;
            for (int i = book.r0; i < book.r1; i++) g[i] = lag[i] == L ? g[i] + wc[i] : g[i];
        }
    }
}
