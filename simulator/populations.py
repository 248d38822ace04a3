"""Neuron populations whose update loop the compiler can vectorise, with identical results.

ANNarchy generates one loop over the neurons of a population that evaluates every
derivative and then applies it. The AdEx neuron calls ``exp()`` in that loop, and a
loop with a call to the C library cannot be vectorised: the divisions by the time
constants and everything else then run one neuron at a time as well.
``VectorisedPopulation`` takes ANNarchy's own generated update code for its neuron type
and moves each ``exp(argument)`` into a loop of its own in front of the main loop
(``_exp_k[i]`` = exp(argument) for every neuron), so that the main loop, unchanged
otherwise, vectorises. The arguments are read before any variable of the step is
updated, as in the original loop. The exponential itself is ``cpp/libm_exp.hpp``: glibc's
exp() computed operation for operation in a form that vectorises too, so every value is
bit for bit what the original code computes (``tests/test_libm_exp.py`` compares it with
the library over the whole range of doubles, ``tests/test_neuron.py`` the two loops).
Evaluating the exponential for neurons whose branch does not use it (during a spike)
only costs time: its argument stays far from overflow in this model (vm - VT < 65 mV,
DeltaT = 2 mV).

Measured on the E population (324 cells): 3.6 µs per step before, 1.5 µs after with the
library's exp() in a loop of its own; that exp() alone then cost 5.6–6.2 ns per neuron, the
vectorised one 1.5–1.7 ns (a microbenchmark of 405 cells, one core of the project's shared
machine).

The spike gathering (``hoist_spike_condition``, one thread) is rewritten the same way:
ANNarchy's loop tests every neuron's spike condition, one neuron at a time, and resets and
stores the ones that fire. The conditions of all neurons are now evaluated first, in a loop
that vectorises, and the loop of ANNarchy's code, unchanged otherwise, skips eight neurons
at once where none fires (most steps, most neurons). The condition reads only the
neuron's own variables and a reset writes only its own neuron's, so every condition has
the value it had in the original loop: the same spikes in the same order. In the frozen
layer 4 of an evaluation this was a sixth of the step.

Depends on ANNarchy's population code generators (``SingleThreadGenerator``,
``OpenMPGenerator``, version 5.0.x); any other neuron code is passed through unchanged.
"""
from __future__ import annotations

import re
from pathlib import Path

from ANNarchy.generator.Population.OpenMPGenerator import OpenMPGenerator
from ANNarchy.generator.Population.SingleThreadGenerator import SingleThreadGenerator
from ANNarchy.intern.SpecificPopulation import SpecificPopulation

_LOOP = re.compile(r"\n([ \t]*)// Updating local variables\n")
_COMMENT = re.compile(r"//[^\n]*")
_ASSIGNMENT = re.compile(r"\+= dt\*_")           # first application of a derivative in the loop


def _call_arguments(code: str, name: str) -> list[str]:
    """The argument texts of every ``name(...)`` call in *code* (balanced parentheses)."""
    found, start = [], 0
    pattern = re.compile(rf"(?<![A-Za-z0-9_]){name}\(")
    while (m := pattern.search(code, start)) is not None:
        depth, k = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(code[k], 0)
            k += 1
        found.append(code[m.end():k - 1])
        start = k
    return found


def hoist_exp(update_code: str, size: int, parallel: bool) -> tuple[str, str]:
    """(update code with the exponentials hoisted, member declarations); unchanged if unsafe."""
    loop = _LOOP.search(update_code)
    if loop is None:
        return update_code, ""
    body = _COMMENT.sub("", update_code[loop.end():])      # the equations as comments would match too
    first_update = _ASSIGNMENT.search(body)
    derivatives = body[:first_update.start()] if first_update else body
    arguments = list(dict.fromkeys(_call_arguments(derivatives, "exp")))
    if not arguments or len(_call_arguments(body, "exp")) != len(_call_arguments(derivatives, "exp")):
        return update_code, ""        # no exp, or one that reads updated values: keep ANNarchy's loop
    indent = loop.group(1)
    declarations = [f"std::vector<double> _exp_{k} = std::vector<double>({size}, 0.0);  // exp({argument})"
                    for k, argument in enumerate(arguments)]
    first_loop = _exp_loops(arguments, indent, parallel)
    for k, argument in enumerate(arguments):
        body = body.replace(f"exp({argument})", f"_exp_{k}[i]")
    code = update_code[:loop.start()] + "\n" + "\n".join(first_loop) + update_code[loop.start():loop.end()] + body
    return code, "\n".join(declarations) + "\n" + _LIBM_EXP


def _exp_loops(arguments: list[str], indent: str, parallel: bool) -> list[str]:
    """The loops that fill ``_exp_k[i]`` with exp(argument k) of every neuron, bit for bit the
    library's: the arguments (shared by a team of threads), then their exponentials in place
    (``LibmExp::exp_in_place``, one thread)."""
    lines = [f"{indent}// exp() of every neuron first, bit for bit the library's (cpp/libm_exp.hpp): "
             f"the loop below then vectorises"]
    if parallel:
        lines.append(f"{indent}#pragma omp for")
    lines.append(f"{indent}for (int i = 0; i < size; i++) {{")
    lines += [f"{indent}    _exp_{k}[i] = {a};" for k, a in enumerate(arguments)]
    lines.append(f"{indent}}}")
    if parallel:
        lines.append(f"{indent}#pragma omp single")
    lines.append(f"{indent}{{")
    lines += [f"{indent}    LibmExp::exp_in_place(_exp_{k}.data(), size);" for k in range(len(arguments))]
    return lines + [f"{indent}}}"]


_GATHER_LOOP = re.compile(r"(spiked\.clear\(\);\s*\n)([ \t]*)for \(int i = 0; i < size; i\+\+\) \{\n")
_CONDITION = re.compile(r"if\((?P<cond>.*)\)\{ // Condition is met\n")
_RESET = re.compile(r"//[^\n]*|[A-Za-z_]\w*\[i\] = [^;\n]*;|\s+")


def _without_branches(condition: str) -> str:
    """*condition* with ``&&`` as ``&`` where that gives the same value: a conjunction of
    comparisons of the neuron's own variables (no other logical or bitwise operator, no
    call), whose right-hand sides can be read whatever the left ones are. ``&&`` would be a
    branch per neuron, and a loop with branches does not vectorise."""
    if re.search(r"\|\||[|?(]|(?<!&)&(?!&)", condition.replace("&&", "  ")) or "&&" not in condition:
        return condition
    return " & ".join(f"({part.strip()})" for part in condition.split("&&"))


def hoist_spike_condition(gather_code: str, size: int) -> tuple[str, str]:
    """(spike gathering with the conditions evaluated first, member declarations); unchanged
    if the code is not ANNarchy's single-thread gathering of this form, or a reset writes
    anything but its own neuron's variables (see the module docstring)."""
    loop, condition = _GATHER_LOOP.search(gather_code), _CONDITION.search(gather_code)
    if loop is None or condition is None or len(_CONDITION.findall(gather_code)) != 1:
        return gather_code, ""
    reset = gather_code[condition.end():gather_code.index("// Store the spike", condition.end())]
    if _RESET.sub("", reset):
        return gather_code, ""
    indent = loop.group(2)
    padded = -(-size // 8) * 8                          # whole groups of eight flags, zeros past size
    flag = _without_branches(condition["cond"])
    # 64-bit flags: a store of a char could alias every variable (the loop would not vectorise)
    first = (f"{indent}// the spike condition of every neuron first (vectorised), then the loop below\n"
             f"{indent}for (int i = 0; i < size; i++) _fires[i] = ({flag});\n")
    skip = (f"{indent}    if ((i & 7) == 0) {{   // eight neurons without a spike: skip them\n"
            f"{indent}        const long long *_w = _fires.data() + i;\n"
            f"{indent}        if ((_w[0] | _w[1] | _w[2] | _w[3] | _w[4] | _w[5] | _w[6] | _w[7]) == 0) {{ i += 7; continue; }}\n"
            f"{indent}    }}\n")
    code = (gather_code[:loop.end(1)] + first + gather_code[loop.end(1):loop.end()] + skip
            + gather_code[loop.end():condition.start()] + "if(_fires[i]){ // Condition is met\n"
            + gather_code[condition.end():])
    return code, f"std::vector<long long> _fires = std::vector<long long>({padded}, 0);  // spike condition per neuron\n"


def initial_state_code(pop) -> str:
    """C++ members ``save_initial()`` / ``restore_initial()``: a copy of every per-neuron
    variable, taken before the first step, and its restoration with no spike in the last
    step or in flight (the state of a fresh network, for presentations that must not see
    each other; ``simulator.network.V1Network.reset_to_initial``)."""
    names = [v["name"] for v in pop.neuron_type.description["variables"] if v["locality"] == "local"]
    ctypes = {v["name"]: v["ctype"] for v in pop.neuron_type.description["variables"]}
    members = "".join(f"std::vector<{ctypes[n]}> _initial_{n};\n" for n in names)
    save = "".join(f"    _initial_{n} = {n};\n" for n in names)
    restore = "".join(f"    {n} = _initial_{n};\n" for n in names)
    if pop.max_delay > 1:          # ANNarchy's queues of delayed spikes and variables
        restore += "    for (auto &v : _delayed_spike) v.clear();\n"
        restore += "".join(f"    for (auto &v : _delayed_{n}) v = _initial_{n};\n"
                           for n in getattr(pop, "delayed_names", ()))
    return (members + "void save_initial() {\n" + save + "}\n"
            "void restore_initial() {\n" + restore +
            "    spiked.clear();\n    std::fill(last_spike.begin(), last_spike.end(), -10000L);\n}\n")


INITIAL_STATE_FUNCTIONS = ("save_initial", "restore_initial")
# exp() with the library's bits in loops that vectorise (used by hoist_exp).
_LIBM_EXP = (Path(__file__).resolve().parent / "cpp" / "libm_exp.hpp").read_text()
# Presentations from the initial state run by the kernel (bodies in cpp/presentations.hpp).
_PRESENTATIONS = (Path(__file__).resolve().parent / "cpp" / "presentations.hpp").read_text()
PRESENTATION_FUNCTIONS = ("present_from_initial", "presentation_counts")


def presentation_prefix(parallel: bool) -> str:
    """The first statement of update(): the presentation bookkeeping (one thread of a team)."""
    call = "presentation_step();"
    return f"\n        #pragma omp single\n        {{ {call} }}\n" if parallel else f"\n        {call}\n"


class VectorisedPopulation(SpecificPopulation):
    """A population of any spiking neuron type, updated by ANNarchy's own code with
    ``exp()`` evaluated in a loop of its own (see the module docstring), and able to go
    back to its initial state (``save_initial``/``restore_initial``), also by itself at the
    start of each of a block of presentations, counting their spikes
    (``present_from_initial``/``presentation_counts``, ``cpp/presentations.hpp``)."""

    def __init__(self, geometry, neuron, name=None, copied=False, net_id=0):
        super().__init__(geometry, neuron, name=name, copied=copied, net_id=net_id)
        self.neuron_type.description["functions"] += [{"name": n, "cpp": ""}
                                                       for n in INITIAL_STATE_FUNCTIONS + PRESENTATION_FUNCTIONS]

    def _copy(self, net_id=None):
        return VectorisedPopulation(self.geometry, self.neuron_type, name=self.name, copied=True,
                                    net_id=self.net_id if net_id is None else net_id)

    def _install(self, generator, parallel: bool) -> None:
        self._specific_template.pop("update_variables", None)
        self._specific_template.pop("spike_gather_code", None)
        code, declarations = hoist_exp(generator(None, self.net_id)._update_spiking_neuron(self), self.size,
                                       parallel)
        self._specific_template["update_variables"] = presentation_prefix(parallel) + code
        if not parallel:
            gather, flags = hoist_spike_condition(generator(None, self.net_id)._spike_gather(self), self.size)
            self._specific_template["spike_gather_code"] = gather
            declarations += flags
        self._specific_template["declare_additional"] = declarations + initial_state_code(self) + _PRESENTATIONS

    def _generate_st(self):
        self._install(SingleThreadGenerator, parallel=False)

    def _generate_omp(self):
        self._install(OpenMPGenerator, parallel=True)

    def _generate_cuda(self):
        raise NotImplementedError("VectorisedPopulation has no CUDA version")
