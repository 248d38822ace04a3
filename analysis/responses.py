"""Spike-count responses of a frozen (non-learning) copy of a trained network.

The analyses of docs/model.md §7 (orientation tuning with gratings, spike-
triggered averages from noise, population sparseness over natural patches)
all need the same thing: show a stimulus to the trained network for 125 ms
and count every cell's spikes. This module

* turns stimuli into Poisson rates of the (18, 18, 2) ON/OFF input exactly as
  in training (docs/model.md §1: ON = max(x, 0), OFF = max(-x, 0), rates
  up to MAX_RATE = 100 Hz);
* builds the network of a snapshot with *every* projection static
  (``simulator.network.build_network(..., static=True)``): no learning rule runs, so
  analysis cannot change the weights, and static synapses simulate much faster
  than plastic ones;
* presents a batch of stimuli and returns spike counts per presentation.

Presentation protocol. Each stimulus is shown for ``duration`` ms (125 ms, as in
training and in the published grating protocol), by default back to back with
no blank and no reset, as during training. Adaptation (tau_w = 144 ms) and the
threshold (tau_VT = 50 ms) carry a little history from one stimulus to the
next; the callers shuffle the stimulus order, which turns this carry-over into
noise rather than a bias of any one condition. ``blank`` > 0 inserts a period
of zero input before each stimulus instead, for a protocol with a pause.
"""
from __future__ import annotations


import numpy as np

from input.patches import on_off_split
from models.parameters import PUBLISHED
from runs.snapshots import TrainedNetwork


# -- stimuli -> rates ------------------------------------------------------------
def onoff_rates(image, scale: float) -> np.ndarray:
    """(h, w) signed image -> (h, w, 2) rates: ON = max(x, 0) * scale, OFF = max(-x, 0) * scale."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {image.shape}")
    return on_off_split(image[:, :, None])[:, :, :, 0] * scale


def image_to_rates(image, max_rate: float = PUBLISHED.input.max_rate) -> np.ndarray:
    """(h, w) signed image -> (h, w, 2) rates, the largest |value| mapped to *max_rate*.

    The same normalisation as training (rate = value / max * MAX_RATE), with the
    maximum taken over this image. An all-zero image gives zero rates.
    """
    image = np.asarray(image, dtype=np.float64)
    peak = float(np.max(np.abs(image))) if image.size else 0.0
    return onoff_rates(image, max_rate / peak if peak > 0 else 0.0)


def grating_rates(orientation_deg: float, frequency: float, phase: float, contrast: float = 1.0,
                  size: int = PUBLISHED.input.patch_size, max_rate: float = PUBLISHED.input.max_rate) -> np.ndarray:
    """Rates of a sinusoidal grating (``analysis.tuning.grating``) at Michelson-like contrast c.

    rates = c * max_rate * ON/OFF(unit-amplitude grating). The unit grating is
    *not* renormalised per image: a low-frequency grating whose extreme falls
    outside the 18x18 patch keeps its true contrast, so every phase and
    frequency of one contrast has the same amplitude.
    """
    from analysis.tuning import grating
    return onoff_rates(grating(size, orientation_deg, frequency, phase, 1.0), contrast * max_rate)


def grating_set(orientations, frequencies, phases, contrasts, size: int = PUBLISHED.input.patch_size,
                max_rate: float = PUBLISHED.input.max_rate):
    """Every combination of the four grating parameters.

    Returns (rates (k, size, size, 2), index (k, 4) int array of
    (orientation, frequency, phase, contrast) indices), k = product of lengths.
    """
    grid = np.array(np.meshgrid(np.arange(len(orientations)), np.arange(len(frequencies)),
                                np.arange(len(phases)), np.arange(len(contrasts)),
                                indexing="ij")).reshape(4, -1).T
    rates = np.stack([grating_rates(orientations[o], frequencies[f], phases[p], contrasts[c],
                                    size, max_rate) for o, f, p, c in grid])
    return rates, grid


def noise_rates(k: int, sigma: float, rng, size: int = PUBLISHED.input.patch_size,
                max_rate: float = PUBLISHED.input.max_rate):
    """k Gaussian white-noise images and their rates.

    Each pixel of the signed image is N(0, sigma) in Hz, split into ON/OFF
    channels as in training and clipped at *max_rate*; so ON − OFF of the
    rates is the image itself (up to clipping). Returns
    (images (k, size, size), rates (k, size, size, 2)).
    """
    images = rng.normal(0.0, sigma, size=(k, size, size))
    rates = np.minimum(np.stack([onoff_rates(im, 1.0) for im in images]), max_rate) if k else \
        np.zeros((0, size, size, 2))
    return images, rates


# -- frozen networks ---------------------------------------------------------------
def frozen_network(trained: TrainedNetwork, build_dir, *, seed: int = 0, num_threads: int = 1):
    """The compiled network of a trained snapshot (``runs.snapshots.load_trained``):
    every projection static with the snapshot's weights, and a layer-2/3 network with
    the delays its training run recorded."""
    from simulator.network import build_network
    return build_network(trained.layer, build_dir=build_dir, static=True, delays=trained.delays,
                         weights=trained.weights, seed=seed, num_threads=num_threads)


# -- presenting stimuli ---------------------------------------------------------------
class Recorder:
    """One spike Monitor per population, kept for the lifetime of the network.

    ANNarchy monitors must be created before ``compile`` in some versions and
    cost nothing when idle, so they are made once and read per batch.
    """

    def __init__(self, network, populations):
        self.network = network
        self.populations = tuple(populations)
        self.monitors = {name: network.net.monitor(network.pops[name], ["spike"])
                         for name in self.populations}


def responses(network, stimuli_rates, duration: float | None = None, *, blank: float = 0.0,
              populations=("E", "I"), recorder: Recorder | None = None, progress=None):
    """Spike counts of every cell for every stimulus.

    stimuli_rates: (k, 18, 18, 2) Poisson rates in Hz. Each stimulus is shown
    for *duration* ms (default: the network's model's presentation time), preceded by *blank* ms of zero input (default none: back
    to back as in training, see the module docstring). Returns one (k, n) int
    array per population in *populations* (default E and I), in that order.

    Spikes are recorded for the whole batch and binned afterwards by spike
    time, which avoids a Python round trip per stimulus.
    """
    stimuli_rates = np.asarray(stimuli_rates, dtype=np.float64)
    if stimuli_rates.ndim != 4 or stimuli_rates.shape[-1] != 2:
        raise ValueError(f"expected (k, ps, ps, 2) rates, got shape {stimuli_rates.shape}")
    if recorder is None:
        recorder = Recorder(network, populations)
    dt = network.model.dt
    duration = network.model.input.presentation_ms if duration is None else duration
    steps_stim = int(round(duration / dt))
    steps_blank = int(round(blank / dt))
    k = len(stimuli_rates)
    for mon in recorder.monitors.values():
        mon.get("spike")          # discard anything recorded before this batch
    start = network.net.current_step
    zeros = np.zeros(stimuli_rates.shape[1:])
    for i, rates in enumerate(stimuli_rates):
        if steps_blank:
            network.present(zeros, steps_blank * dt)
        network.present(rates, steps_stim * dt)
        if progress is not None:
            progress(i + 1, k)
    period = steps_blank + steps_stim
    out = []
    for name in populations:
        spikes = recorder.monitors[name].get("spike")
        counts = np.zeros((k, network.pops[name].size), dtype=np.int64)
        for rank, times in spikes.items():
            if len(times) == 0:
                continue
            offset = np.asarray(times, dtype=np.int64) - start
            index, phase = np.divmod(offset, period)
            keep = (phase >= steps_blank) & (index >= 0) & (index < k)
            np.add.at(counts[:, rank], index[keep], 1)
        out.append(counts)
    return tuple(out)
