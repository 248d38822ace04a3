// The uniform draws of ANNarchy's Poisson input, std::uniform_real_distribution<double>(0, 1)
// on std::mt19937 (libstdc++), computed a block of 624 generator outputs at a time: the
// same numbers, in the same order, about 7 times faster (the per-call state checks and
// the scalar twist of std::mt19937 dominate the evaluation's frozen network otherwise).
// A member of the PatchPoissonPopulation struct (simulator/poisson_input.py); used for the
// presentations the kernel seeds itself (queue_presentations), on one thread.
//
// MT19937 (Matsumoto & Nishimura 1998): init_genrand seeding, twist and tempering as the
// C++ standard specifies std::mt19937. The double of two consecutive outputs a, b is
// libstdc++'s generate_canonical<double, 53>: (a + b * 2^32) / 2^64 with one rounding of
// the sum, 1 replaced by the largest double below it. tests/test_poisson_input.py checks
// the spikes against numpy's MT19937 (RandomState) and this formula.
struct MT19937Block {
    static constexpr int N = 624, M = 397;
    alignas(64) uint32_t mt[N];
    alignas(64) uint32_t out[N];     // tempered outputs of the current block
    int pos = N;                     // next unused output; N: a new block is needed
    void seed(uint32_t s) {
        mt[0] = s;
        for (int i = 1; i < N; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
        pos = N;
    }
    static inline uint32_t twist(uint32_t a, uint32_t b, uint32_t c) {
        const uint32_t y = (a & 0x80000000u) | (b & 0x7fffffffu);
        return c ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);
    }
    void next_block() {              // three loops without wrap-around: they vectorise
        for (int i = 0; i < N - M; i++) mt[i] = twist(mt[i], mt[i + 1], mt[i + M]);
        for (int i = N - M; i < N - 1; i++) mt[i] = twist(mt[i], mt[i + 1], mt[i + M - N]);
        mt[N - 1] = twist(mt[N - 1], mt[0], mt[M - 1]);
        for (int i = 0; i < N; i++) {
            uint32_t y = mt[i];
            y ^= y >> 11; y ^= (y << 7) & 0x9d2c5680u; y ^= (y << 15) & 0xefc60000u; y ^= y >> 18;
            out[i] = y;
        }
        pos = 0;
    }
    static inline double canonical(uint32_t a, uint32_t b) {
        double sum = (double)a;
        sum += (double)b * 4294967296.0;
        const double u = sum / 18446744073709551616.0;
        return u >= 1.0 ? std::nextafter(1.0, 0.0) : u;
    }
    void uniform(double *r, int n) {   // n draws, as n calls of the distribution
        for (int i = 0; i < n;) {          // pos stays even (N is even, draws take pairs)
            if (pos == N) next_block();
            const int pairs = std::min((N - pos) / 2, n - i);
            const uint32_t *o = out + pos;
            for (int k = 0; k < pairs; k++) r[i + k] = canonical(o[2 * k], o[2 * k + 1]);
            i += pairs;
            pos += 2 * pairs;
        }
    }
};
