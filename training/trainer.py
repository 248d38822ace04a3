"""The training loop of either layer: patches, ON/OFF balance, snapshots, rates.

One ``Trainer`` drives one compiled ``V1Network``:

* every patch: draw a patch (``input.PatchSampler``) and show it for the
  model's presentation time; consecutive patches go to the kernel as one block
  (``simulator.network.V1Network.present_many``);
* where the schedule says so (``models.schedule``): balance ON/OFF weight norms;
* at patch 0, every ``save_every`` patches and at the end: write every plastic
  weight matrix as text (atomically) and the firing rates so far;
* every training.rate_window patches: mean rate of every E and I cell (``frExc.npy``,
  ``frInh.npy``);
* at every snapshot, at the end and on SIGINT/SIGTERM: a checkpoint from which
  ``--resume`` continues bit for bit (``training.checkpoint``).

The loop owns nothing about the model itself: which projections exist, their
files and shapes come from the ``LayerSpec`` and its model value, the schedule from
``models.schedule``.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np

from simulator import state
from models.layers import LayerSpec
from models.schedule import Schedule, balance_on_off
from runs import files
from training import checkpoint, health


class RateRecorder:
    """Mean firing rate of every cell of the layer's E and I populations per window."""

    def __init__(self, network, pop_names, window: int, presentation_ms: float):
        self.network = network
        self.window = window
        self.presentation_ms = presentation_ms
        self.pop_names = pop_names
        self.monitors = {name: network.net.monitor(network.pops[name], ["spike"]) for name in pop_names}
        self.rows = {name: [] for name in pop_names}
        self.counts = {name: np.zeros(network.pops[name].size) for name in pop_names}
        self.patches_in_window = 0

    def patches_left_in_window(self) -> int:
        return self.window - self.patches_in_window

    def patches_done(self, n: int = 1) -> None:
        """n patches were presented (never past the end of the current window)."""
        if n > self.patches_left_in_window():
            raise ValueError(f"{n} patches cross the end of a rate window")
        self.patches_in_window += n
        if self.patches_in_window == self.window:
            self.close_window()

    def _pull(self) -> None:
        """Add the spikes recorded since the last pull to the window's counts."""
        for name, mon in self.monitors.items():
            for rank, times in mon.get("spike").items():  # rank -> spike times; clears the monitor
                self.counts[name][rank] += len(times)

    def close_window(self) -> None:
        if self.patches_in_window == 0:
            return
        self._pull()
        seconds = self.patches_in_window * self.presentation_ms / 1000.0
        for name in self.pop_names:
            self.rows[name].append(self.counts[name] / seconds)
            self.counts[name] = np.zeros_like(self.counts[name])
        self.patches_in_window = 0

    def latest_means(self) -> tuple:
        return tuple(float(np.mean(self.rows[n][-1])) if self.rows[n] else float("nan") for n in self.pop_names)

    def arrays(self) -> dict:
        return {n: np.array(self.rows[n]).reshape(-1, self.network.pops[n].size) for n in self.pop_names}

    # -- checkpoints ---------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict]:
        self._pull()
        arrays = {}
        for name, rows in self.arrays().items():
            arrays[f"rates/{name}/rows"] = rows
            arrays[f"rates/{name}/counts"] = self.counts[name].copy()
        return arrays, {"patches_in_window": self.patches_in_window}

    def set_state(self, arrays: dict, meta: dict) -> None:
        for name in self.pop_names:
            self.rows[name] = list(arrays[f"rates/{name}/rows"])
            self.counts[name] = np.array(arrays[f"rates/{name}/counts"], dtype=np.float64)
        self.patches_in_window = int(meta["patches_in_window"])


class Interrupted(Exception):
    """The run stopped on a signal after writing a checkpoint."""

    def __init__(self, signum: int, patch: int, path):
        super().__init__(f"stopped by {signal.Signals(signum).name} at patch {patch}")
        self.signum, self.patch, self.path = signum, patch, path


class _StopOnSignal:
    """Turn SIGINT/SIGTERM into a request that the loop honours between patches."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handler(self, signum, frame):
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt          # a second Ctrl-C: leave at once
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


class Trainer:
    def __init__(self, layer: LayerSpec, network, sampler, schedule: Schedule, out_dir, *,
                 progress: bool = True, checkpoint_meta: dict | None = None, on_health=None, monitor=None):
        self.layer = layer
        self.model = layer.model
        self.network = network
        self.sampler = sampler
        self.schedule = schedule
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.rates = RateRecorder(network, layer.rate_populations, self.model.training.rate_window,
                                  self.model.input.presentation_ms)
        # The early-failure check of layer 4 (training.health); on_health(report) is called with it.
        self.checks_health = "LGN_E" in {spec.name for spec in layer.plastic}
        self.on_health = on_health
        self.stop_on_failure = False     # a failing check raises health.FailedEarly
        self.health = None
        self.monitor = monitor            # training.monitor.RunMonitor: statistics, PNGs, TensorBoard
        self.patch = 0
        self.wall_before = 0.0           # wall time of earlier segments of a resumed run
        # What a checkpoint must match to be resumed into this trainer (run identity).
        self.checkpoint_meta = dict(checkpoint_meta or {})

    # -- outputs ----------------------------------------------------------------
    def write_snapshot(self, step: int) -> None:
        """The weight files of snapshot *step* and the rates so far; then the monitor's figures."""
        weights = {spec.name: self.network.weights(spec.name) for spec in self.layer.plastic}
        for name, matrix in weights.items():
            files.save_matrix_txt(self.layer.snapshot_path(self.out_dir, name, step), matrix)
        self.write_rates()
        if self.monitor is not None:
            self.monitor.snapshot(step, weights, rates_written=True)

    def write_delays(self) -> None:
        for name, (sub, filename) in self.layer.delay_files.items():
            files.save_matrix_txt(self.out_dir / sub / filename, self.network.delays[name])

    def write_rates(self) -> None:
        exc, inh = self.layer.rate_populations
        arrays = self.rates.arrays()
        files.save_npy(self.out_dir / "frExc.npy", arrays[exc])
        files.save_npy(self.out_dir / "frInh.npy", arrays[inh])

    def balance(self) -> None:
        for name in self.layer.onoff_balanced:
            self.network.set_weights(name, balance_on_off(self.network.weights(name), self.model.input.patch_size))

    def check_health(self, bar=None) -> None:
        """The early-failure check at patch health.check_patch (``_block_end`` ends a block there)."""
        _, inh = self.layer.rate_populations
        self.health = health.check(self.model, self.network.weights("LGN_E"), self.layer.spec("LGN_E").rule.wMax,
                                   self.rates.arrays()[inh], self.rates.window, self.patch,
                                   self.checkpoint_meta.get("seed"))
        say = bar.write if bar is not None else print
        say(self.health.summary(), file=sys.stderr)
        if self.health.warning:
            say("\n" + self.health.warning + "\n", file=sys.stderr)
        if self.on_health is not None:
            self.on_health(self.health)
        if self.stop_on_failure and self.health.status == "failing":
            self.write_rates()
            raise health.FailedEarly(self.health)

    # -- checkpoints --------------------------------------------------------------
    def write_checkpoint(self, wall_so_far: float):
        """The complete state before patch ``self.patch`` (training/checkpoint.py)."""
        arrays = state.capture_network(self.network)
        rate_arrays, rate_meta = self.rates.get_state()
        arrays.update(rate_arrays)
        meta = dict(self.checkpoint_meta, rates=rate_meta, wall_time_s=wall_so_far,
                    sampler=self.sampler.rng.bit_generator.state)
        return checkpoint.save(self.out_dir, self.patch, arrays, meta)

    def resume_from(self, arrays: dict, meta: dict) -> None:
        for key, expected in self.checkpoint_meta.items():
            if meta.get(key) != expected:
                raise checkpoint.CheckpointError(
                    f"checkpoint_{meta.get('patch')}: {key} is {meta.get(key)!r}, this run has {expected!r}")
        try:
            state.restore_network(self.network, arrays)
        except state.StateError as exc:
            raise checkpoint.CheckpointError(f"checkpoint_{meta.get('patch')}: {exc}") from None
        self.rates.set_state(arrays, meta["rates"])
        self.sampler.rng.bit_generator.state = meta["sampler"]
        self.patch = int(meta["patch"])
        self.wall_before = float(meta["wall_time_s"])
        if self.network.net.current_step != self.patch * self.network.steps_per_patch:
            raise checkpoint.CheckpointError(f"checkpoint_{self.patch}: simulation step "
                                             f"{self.network.net.current_step} does not match patch {self.patch}")

    # -- loop -------------------------------------------------------------------
    # Patches presented per simulate() call at most: the kernel switches the rates
    # itself (simulator.poisson_input), so a block costs one Python round trip
    # instead of one per patch. 20 patches = 2.5 s of model time, short enough that
    # Ctrl-C is honoured quickly.
    BLOCK_PATCHES = 20

    def _block_end(self, snapshots) -> int:
        """End of the block that starts at ``self.patch``: the next patch at which the
        loop must act (snapshot, ON/OFF balance, end of a rate window, the health
        check, end of the run) or BLOCK_PATCHES later. Blocks never change the result: the same
        patches give the same spikes, however they are grouped."""
        p = self.patch
        end = min(self.schedule.n_patches, p + self.BLOCK_PATCHES, p + self.rates.patches_left_in_window())
        for q in range(p + 1, end):
            if q in snapshots or self.schedule.balances_before(q) or \
                    (self.checks_health and q == self.model.health.check_patch):
                return q
        return end

    def run(self) -> dict:
        """Train from ``self.patch`` to the end.

        Order within patch p: checkpoint (at snapshot steps: the state *before*
        p, so that a resumed run repeats exactly what follows), ON/OFF balance,
        weight snapshot, presentation. SIGINT/SIGTERM end the current patch,
        write a checkpoint and raise ``Interrupted``.
        """
        from tqdm import tqdm

        snapshots = set(self.schedule.snapshot_steps())
        self.write_delays()
        t_start = time.perf_counter()
        wall = lambda: self.wall_before + time.perf_counter() - t_start  # noqa: E731
        bar = tqdm(total=self.schedule.n_patches, initial=self.patch, unit="patch", disable=not self.progress,
                   dynamic_ncols=True, file=sys.stderr, smoothing=0.05)
        exc, inh = self.layer.rate_populations
        with _StopOnSignal() as stop:
            while self.patch < self.schedule.n_patches:
                if stop.signum is not None:
                    bar.close()
                    path = self.write_checkpoint(wall())
                    self.write_rates()
                    raise Interrupted(stop.signum, self.patch, path)
                if self.patch in snapshots:
                    self.write_checkpoint(wall())
                if self.schedule.balances_before(self.patch):
                    self.balance()
                if self.patch in snapshots:
                    self.write_snapshot(self.patch)
                end = self._block_end(snapshots)
                self.network.present_many(self.sampler.sample_many(end - self.patch))
                windows_before = len(self.rates.rows[exc])
                self.rates.patches_done(end - self.patch)
                bar.update(end - self.patch)
                self.patch = end
                if len(self.rates.rows[exc]) != windows_before:
                    if self.monitor is not None:
                        self.monitor.rate_window(self.patch, self.rates.rows[exc][-1], self.rates.rows[inh][-1])
                    r_e, r_i = self.rates.latest_means()
                    bar.set_postfix_str(f"{exc} {r_e:5.2f} Hz  {inh} {r_i:5.2f} Hz", refresh=False)
                if self.checks_health and self.patch == self.model.health.check_patch:
                    self.check_health(bar)
            bar.close()
            windows_before = len(self.rates.rows[exc])
            self.rates.close_window()           # the last, partial window
            if self.monitor is not None and len(self.rates.rows[exc]) != windows_before:
                self.monitor.rate_window(self.patch, self.rates.rows[exc][-1], self.rates.rows[inh][-1])
            self.write_snapshot(self.patch)
            self.write_checkpoint(wall())
        wall_s = wall()
        model_s = self.schedule.n_patches * self.model.input.presentation_ms / 1000.0
        return {"model_time_s": model_s, "wall_time_s": wall_s,
                "model_per_wall": model_s / wall_s if wall_s > 0 else float("inf")}
