// Independent presentations run by the kernel: members of a VectorisedPopulation
// (simulator/populations.py pastes this file in after its initial-state code).
//
// present_from_initial(n, steps, restore) arms n presentations of `steps` steps each,
// starting with the next step. At the first step of every presentation the population
// goes back to its initial state (restore_initial(), when `restore`), and the spikes of
// every step are counted per presentation and cell; presentation_counts() returns the
// counts after the simulation. The reset comes first in update(): after this step's
// compute_psp(), whose input to this population the reset overwrites, as it would have
// had no input from a network reset before the step (no spike of the last step and none
// in flight). The state the neurons then update from is the one of a reset before the
// step, so the spikes are those of one `simulate` per presentation (tests/test_evaluation.py).
//
// ANNarchy internals used (generated population code of ANNarchy 5.0.x; checked with
// 5.0.4): t (global step counter), size, spiked (ranks that spiked in the last step).
long int _pres_first = 0;         // step of the first presentation
int _pres_steps = 1, _pres_n = 0; // steps per presentation, presentations (0: none armed)
bool _pres_restore = false;
std::vector<int> _pres_counts;    // [presentation * size + rank]

void present_from_initial(int n, int steps, bool restore) {
    _pres_first = t;
    _pres_steps = steps;
    _pres_n = n;
    _pres_restore = restore;
    _pres_counts.assign((size_t)n * size, 0);
}
// The spikes of step t - 1, which `spiked` holds until this step's spike_gather().
inline void count_last_step() {
    const long int k = (t - 1 - _pres_first) / _pres_steps;
    if (t - 1 < _pres_first || k >= _pres_n) return;
    int *row = _pres_counts.data() + (size_t)k * size;
    for (int i : spiked) row[i]++;
}
// First statement of update().
inline void presentation_step() {
    if (_pres_n == 0) return;
    count_last_step();
    const long int into = t - _pres_first;
    if (_pres_restore && into % _pres_steps == 0 && into / _pres_steps < _pres_n) restore_initial();
}
std::vector<int> presentation_counts() {
    if (_pres_n > 0) count_last_step();
    _pres_n = 0;
    std::vector<int> counts;
    counts.swap(_pres_counts);
    return counts;
}
