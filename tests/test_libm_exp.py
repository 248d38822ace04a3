"""The vectorisable exp() of the AdEx populations (simulator/cpp/libm_exp.hpp) against its two
independent references: the table against its mathematical definition (computed here with
80-digit decimals), and every result against the C library's own exp(), bit for bit, over
the whole range of doubles, one at a time and in arrays as the populations call it (a
compiled program: numpy's exp is not the library's)."""
import re
import shutil
import struct
import subprocess
from decimal import Decimal, getcontext
from pathlib import Path

import pytest

HEADER = Path(__file__).resolve().parent.parent / "simulator" / "cpp" / "libm_exp.hpp"

PROGRAM = r"""
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#include "libm_exp.hpp"

static bool same(double a, double b) { return std::memcmp(&a, &b, 8) == 0; }

int main() {
    std::mt19937_64 g(20211);
    const int n = 1 << 20;
    std::vector<double> x(n), y(n);
    long total = 0, main_path = 0, differ = 0, arrays = 0, arrays_differ = 0;
    for (int rep = 0; rep < 16; rep++) {
        for (int i = 0; i < n; i++) {
            const unsigned long long b = g();
            const double u = std::ldexp((double)(b >> 11), -53);   // [0, 1)
            switch (rep % 4) {
                case 0: std::memcpy(&x[i], &b, 8); break;                                   // any bits: NaN, inf, tiny
                case 1: x[i] = 1500.0 * u - 750.0; break;                                   // past both ends
                case 2: x[i] = 80.0 * u - 40.0; break;                                      // the model's (vm-VT)/DeltaT
                default: x[i] = std::ldexp(u, (int)(b % 128) - 100) * ((b >> 63) ? -1 : 1);  // every binade
            }
        }
        // every argument of the main path, one at a time
        for (int i = 0; i < n; i++) {
            total++;
            if (LibmExp::needs_libm(x[i])) continue;
            main_path++;
            if (!same(LibmExp::main_path(x[i]), std::exp(x[i]))) {
                if (differ < 5) std::printf("x=%a main_path=%a library=%a\n", x[i], LibmExp::main_path(x[i]), std::exp(x[i]));
                differ++;
            }
        }
        // arrays as the populations use them: 405 cells, one with an argument off the main path
        // in every other array
        for (int start = 0; start + 405 <= n; start += 405) {
            std::memcpy(y.data(), x.data() + start, 405 * 8);
            if (rep % 4 == 2 && (start / 405) % 2) y[start % 405] = 1e-300;
            std::vector<double> arg(y.begin(), y.begin() + 405);
            LibmExp::exp_in_place(y.data(), 405);
            arrays++;
            for (int i = 0; i < 405; i++) if (!same(y[i], std::exp(arg[i]))) { arrays_differ++; break; }
        }
    }
    std::printf("inlined=%d total=%ld main_path=%ld differ=%ld arrays=%ld arrays_differ=%ld\n", (int)LibmExp::inlined,
                total, main_path, differ, arrays, arrays_differ);
}
"""


def table_of_definition() -> list[int]:
    """Entry 2k: the double nearest to 2^(k/128)/H_k - 1; entry 2k+1: the bits of H_k, the
    double nearest to 2^(k/128), less k << 45."""
    getcontext().prec = 80
    ln2, table = Decimal(2).ln(), []
    for k in range(128):
        exact = (ln2 * k / 128).exp()
        nearest = float(exact)                         # correctly rounded
        tail = float(exact / Decimal(nearest) - 1)
        table += [struct.unpack("<Q", struct.pack("<d", tail))[0],
                  (struct.unpack("<Q", struct.pack("<d", nearest))[0] - (k << 45)) % 2 ** 64]
    return table


def test_table_is_its_definition():
    text = HEADER.read_text()
    body = text[text.index("entries[256] = {"):text.index("};", text.index("entries[256] = {"))]
    entries = [int(h, 16) for h in re.findall(r"0x[0-9a-f]{16}", body)]
    assert len(entries) == 256
    assert entries == table_of_definition()


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++ (as ANNarchy does)")
def test_same_bits_as_the_library(tmp_path):
    (tmp_path / "check.cpp").write_text(PROGRAM)
    shutil.copy(HEADER, tmp_path / "libm_exp.hpp")
    # C++14: the oldest standard ANNarchy compiles with
    subprocess.run(["g++", "-O3", "-march=native", "-std=c++14", "check.cpp", "-o", "check"], cwd=tmp_path,
                   check=True)
    out = subprocess.run([str(tmp_path / "check")], capture_output=True, text=True, check=True).stdout
    fields = {k: int(v) for k, v in (item.split("=") for item in out.split("\n")[-2].split())}
    assert fields["arrays"] > 40_000 and fields["arrays_differ"] == 0, out
    if fields["inlined"]:           # x86-64 glibc with FMA (as here): the populations use main_path
        assert fields["total"] == 16 << 20 and fields["main_path"] > 8 << 20    # half the cases or more
        assert fields["differ"] == 0, out
