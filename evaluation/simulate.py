"""Features of images: mean rates of every cell of the frozen network, per crop (worker side).

``features`` runs inside a worker process (a local process pool or a Dask worker): it
builds the static network of a trained snapshot once per process, then shows every crop
of its chunk of images ``repeats`` times, each presentation from the network's initial
state with a Poisson seed that depends only on the image, the crop and the repeat
(``evaluation.protocol.presentation_seed``). The features are therefore the same, bit for
bit, whichever worker computes them and however the images are split into chunks.

Speed: the whole chunk is one ``simulate`` call. The kernel itself puts the network back
to its initial state, seeds the Poisson generator and loads the rates at the first step of
every presentation, and counts the spikes of every cell per presentation
(``simulator.network.V1Network.present_from_initial``): the spikes of one Python round trip
per presentation (reset, reseed, rates, ``simulate``, monitors), without the round trips
(``tests/test_presentations.py`` compares the two).

Compiled once: the network of a structure is compiled into one folder per build root,
named after the structure and the package's model code, under a file lock; the first
worker compiles, the others (and later evaluations of the same code) wait for it and
load the compiled library (ANNarchy regenerates the code, finds it unchanged and copies
the library into a folder of the process's own). Evaluations of different code never use
the same folder.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import time
from pathlib import Path

import numpy as np

_NETWORKS = {}          # structure key -> [network, weights key], one per process
_SNAPSHOTS = {}         # (run, step, layer-4 run, layer-4 step, weights hash) -> loaded snapshot
_PACKAGE = Path(__file__).resolve().parent.parent
# The sources the generated C++ of a network depends on (besides the structure).
_MODEL_CODE = ("models", "rules", "simulator")


def code_version() -> str:
    """A hash of the model code and ANNarchy's version: networks of equal hashes and structures
    compile to the same library."""
    import ANNarchy
    h = hashlib.sha256(ANNarchy.__release__.encode())
    for folder in _MODEL_CODE:
        for path in sorted((_PACKAGE / folder).rglob("*")):
            if path.suffix in (".py", ".hpp", ".inc") and path.is_file():
                h.update(str(path.relative_to(_PACKAGE)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


@contextlib.contextmanager
def locked(folder: Path):
    """Hold an exclusive lock on *folder* (created) while in the block: one compile at a time."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".compile.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_folder(build_root, layer, delays: dict | None) -> Path:
    """The compile folder of a frozen network: its layer and model, the longest delay of each
    projection (part of the generated code; the delays themselves are data) and the code."""
    dt = layer.model.dt
    longest = sorted((name, int(np.rint(np.max(d) / dt))) for name, d in (delays or {}).items())
    key = hashlib.sha256(repr((layer.name, layer.model.hash(), longest, code_version())).encode()).hexdigest()[:16]
    return Path(build_root).expanduser() / f"eval-{layer.name}-{key}"


def network_for(spec: dict):
    """The network with the weights of the snapshot described by *spec*. One network per
    process and structure: the trained and the untrained snapshot of a run share it
    (compiled once), only the weights are exchanged."""
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
        folder = build_folder(spec["build_root"], trained.layer, delays)
        with locked(folder):
            network = build_network(trained.layer, build_dir=folder, static=True, delays=delays,
                                    weights=trained.weights)
        _forget_library_copy(network)
        _NETWORKS[structure] = [network, spec["weights_sha256"]]
    entry = _NETWORKS[structure]
    if entry[1] != spec["weights_sha256"]:
        for name, matrix in trained.weights.items():
            entry[0].set_weights(name, matrix)
        entry[1] = spec["weights_sha256"]
    return entry[0]


def _forget_library_copy(network) -> None:
    """ANNarchy loads a copy of the library from a fresh ``run_<time>`` folder of the build
    folder; once loaded it is not needed (the folders would pile up, one per process)."""
    directory = Path(getattr(network.net, "directory", "") or "")
    if directory.name.startswith("run_") and directory.parent == network.build_dir:
        shutil.rmtree(directory, ignore_errors=True)


def presentation_seeds(seed: int, split: int, image_index, n_crops: int, repeats: int) -> list[int]:
    """The seeds of a chunk's presentations, image by image, crop by crop, repeat by repeat."""
    from evaluation.protocol import presentation_seed
    return [presentation_seed(seed, split, int(i), c, r)
            for i in image_index for c in range(n_crops) for r in range(repeats)]


def features(spec: dict, rates: np.ndarray, image_index: np.ndarray, split: int, seed: int, protocol) -> dict:
    """Mean rates (Hz) of every cell of spec["populations"] for a chunk of images.

    rates: (k, n_crops, crop, crop, 2) Poisson rates; image_index: (k,) the images' indices in
    their split (for the seeds). Returns pop -> (k, n_crops, cells), and "busy_s": the seconds
    its presentations took.
    """
    network = network_for(spec)
    DT = network.model.dt
    started = time.perf_counter()
    k, n_crops = rates.shape[:2]
    if int(round(protocol.presentation_ms / DT)) != network.steps_per_patch:
        raise ValueError(f"presentations of {protocol.presentation_ms} ms: the network presents "
                         f"{network.steps_per_patch * DT} ms")
    seeds = presentation_seeds(seed, split, image_index, n_crops, protocol.repeats)
    shown = np.repeat(rates.reshape((k * n_crops,) + rates.shape[2:]), protocol.repeats, axis=0)
    counts = network.present_from_initial(shown, seeds, restore=protocol.reset)
    seconds = protocol.presentation_ms / 1000.0
    out = {pop: counts[pop].reshape(k, n_crops, protocol.repeats, -1).astype(np.float64).mean(axis=2) / seconds
           for pop in spec["populations"]}
    out["busy_s"] = time.perf_counter() - started       # this chunk's presentations, without the compile
    return out
