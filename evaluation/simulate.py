"""Features of images: mean rates of every cell of the frozen network, per crop (worker side).

``features`` runs inside a worker process (a local process pool or a Dask worker): it
builds the static network of a trained snapshot once per process (compiled into a folder of
its own per worker), then shows every crop of its chunk of images ``repeats`` times, each
presentation from the network's initial state with a Poisson seed that depends only on the
image, the crop and the repeat (``evaluation.protocol.presentation_seed``). The features are
therefore the same, bit for bit, whichever worker computes them and however the images are
split into chunks.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_NETWORKS = {}          # structure key -> [network, monitors, weights key], one per process
_SNAPSHOTS = {}         # (run, step, layer-4 run, layer-4 step, weights hash) -> loaded snapshot


def worker_slot() -> str:
    """A name for this worker's compile folder: the Dask worker's name, else the process id."""
    try:
        from distributed import get_worker
        return f"w{get_worker().name}"
    except (ImportError, ValueError):
        return f"p{os.getpid()}"


def network_for(spec: dict):
    """(network, spike monitors) with the weights of the snapshot described by *spec*. One
    network per process and structure: the trained and the untrained snapshot of a run share
    it (compiled once), only the weights are exchanged."""
    from simulator.annarchy_env import hand_over_argv
    hand_over_argv([])
    from simulator.network import build_network
    from runs.snapshots import load_trained
    snapshot = (spec["run"], spec["step"], spec.get("l4"), spec.get("l4_step"), spec["weights_sha256"])
    if snapshot not in _SNAPSHOTS:         # read the weight files once per process, not once per chunk
        _SNAPSHOTS[snapshot] = load_trained(spec["run"], spec["step"], l4_dir=spec.get("l4"),
                                            l4_step=spec.get("l4_step"))
    trained = _SNAPSHOTS[snapshot]
    delays = trained.delays
    if delays is not None and not spec["delays"]:     # the published evaluation: no axonal delays
        delays = {name: np.full_like(d, trained.layer.model.dt) for name, d in delays.items()}
    structure = (trained.layer.name, spec["delays"], tuple(spec["populations"]),
                 tuple((n, d.tobytes()) for n, d in sorted((delays or {}).items())))
    if structure not in _NETWORKS:
        build = (Path(spec["build_root"]).expanduser() / f"eval-{trained.layer.name}-{'d' if spec['delays'] else 'nd'}-{trained.layer.model.hash()}"
                 / worker_slot())
        network = build_network(trained.layer, build_dir=build, static=True, delays=delays, weights=trained.weights)
        monitors = {pop: network.net.monitor(network.pops[pop], ["spike"]) for pop in spec["populations"]}
        _NETWORKS[structure] = [network, monitors, spec["weights_sha256"]]
    entry = _NETWORKS[structure]
    if entry[2] != spec["weights_sha256"]:
        for name, matrix in trained.weights.items():
            entry[0].set_weights(name, matrix)
        entry[2] = spec["weights_sha256"]
    return entry[0], entry[1]


def features(spec: dict, rates: np.ndarray, image_index: np.ndarray, split: int, seed: int, protocol) -> dict:
    """Mean rates (Hz) of every cell of spec["populations"] for a chunk of images.

    rates: (k, n_crops, crop, crop, 2) Poisson rates; image_index: (k,) the images' indices in
    their split (for the seeds). Returns pop -> (k, n_crops, cells), and "busy_s": the seconds
    its presentations took.
    """
    import time
    from evaluation.protocol import presentation_seed
    network, monitors = network_for(spec)
    DT = network.model.dt
    started = time.perf_counter()
    k, n_crops = rates.shape[:2]
    steps = int(round(protocol.presentation_ms / DT))
    for mon in monitors.values():
        mon.get("spike")                          # nothing recorded before this chunk
    start = network.net.current_step
    for i in range(k):
        for c in range(n_crops):
            for r in range(protocol.repeats):
                seed_ = presentation_seed(seed, split, int(image_index[i]), c, r)
                if protocol.reset:
                    network.reset_to_initial(seed_)
                else:
                    network.reseed(seed_)
                network.present(rates[i, c], steps * DT)
    n = k * n_crops * protocol.repeats
    out = {}
    for pop, mon in monitors.items():
        counts = np.zeros((n, network.pops[pop].size))
        for rank, times in mon.get("spike").items():
            if len(times):
                index = (np.asarray(times, dtype=np.int64) - start) // steps
                np.add.at(counts[:, rank], index, 1.0)
        out[pop] = counts.reshape(k, n_crops, protocol.repeats, -1).mean(axis=2) / (protocol.presentation_ms / 1000.0)
    out["busy_s"] = time.perf_counter() - started       # this chunk's presentations, without the compile
    return out
