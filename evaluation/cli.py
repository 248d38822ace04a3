"""``python evaluate.py``: how well a linear classifier reads object identity from the trained
layer 4 (and layer 2/3), against the whitened pixels and the untrained network.

Teichmann, Larisch & Hamker (2021) evaluate the model this way (docs/model.md §8): images are
whitened and cut into corner crops (larger object images: a grid of crops), every crop is
shown to the frozen network 10 times for 125 ms from its initial state, the mean rates of
every cell are the features, and a linear SVM (LinearSVC, one-vs-rest, the data set's
published C) is trained on the training split and scored on the test split (object image
sets: on random splits, each refitted on the same features). Everything is checked before
anything is written; the features are cached (``features.npz``, keyed by data, protocol
and weights), so refitting, another C or the figures do not simulate again; every finished
chunk of features is kept on disk until then, so that ``--resume`` continues an interrupted
run (``evaluation.chunks``). The presentations run in worker processes: a local Dask cluster
with at most one worker per core (``evaluation.workers``), or ``--scheduler ADDRESS`` (an
existing Dask cluster); the features are the same for any number of workers.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from evaluation.compare import PIXELS
from evaluation.datasets import (CALTECH_TRAIN_PER_CLASS, DATASETS, N_SPLITS, RESIZED_SIDE, SMALL_SIDE, DatasetError,
                                 PooledDataset, load_dataset, random_splits)
from evaluation.protocol import READOUTS, Protocol
from runs.options import (OneLineErrorParser, UsageError, non_negative_int, positive_float, positive_int,
                              seed_int)

REPO_ROOT = Path(__file__).resolve().parent.parent
CHUNK_IMAGES = 8                 # images per task
CACHE = "features.npz"
SPLIT_IDS = {"train": 0, "test": 1, "all": 2}     # the simulated sets of images (in the Poisson seeds)
SPLIT_SEED = 0                   # the random splits of image folders, ETH-80 and Caltech
SCHEDULER_TIMEOUT_S = 10         # a scheduler that does not answer in this time is refused


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="evaluate.py", description=__doc__.split("\n\n")[0].replace("``", ""),
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Outputs in OUT/DATASET/: metrics.json, report.md, accuracy.png, confusion.png, "
                            "features.npz. Data sets: " + ", ".join(DATASETS) + " (see evaluation/datasets.py "
                            "for the files --data expects).")
    parser.add_argument("--dataset", choices=DATASETS, default="digits",
                        help="image data set (default: digits, bundled with scikit-learn, works offline)")
    parser.add_argument("--data", default=None, metavar="DIR", help="a local copy of the data set, in its own format")
    parser.add_argument("--l4", default="output_L4", metavar="DIR", help="trained layer-4 run (default: output_L4)")
    parser.add_argument("--l4-step", type=non_negative_int, default=None, metavar="N", help="layer-4 snapshot (default: latest)")
    parser.add_argument("--l23", default=None, metavar="DIR",
                        help="also layer 2/3: a trained layer-2/3 run (its layer 4 is the one it was trained on)")
    parser.add_argument("--l23-step", type=non_negative_int, default=None, metavar="N", help="layer-2/3 snapshot (default: latest)")
    parser.add_argument("--limit", type=positive_int, default=None, metavar="N",
                        help="only N images of each split, taken class by class (the first image of every "
                             "class, then the second, ...), so that every class is in both splits (not for "
                             "folder, eth80, caltech-fm)")
    parser.add_argument("--size", type=positive_int, default=RESIZED_SIDE, metavar="S",
                        help=f"folder, eth80, caltech-fm: pictures larger than {SMALL_SIDE} px are resized to S x S and "
                             f"covered with a grid of crops (default: {RESIZED_SIDE}, 7 x 7 crops of 18 x 18)")
    parser.add_argument("--splits", type=positive_int, default=N_SPLITS, metavar="N",
                        help=f"folder, eth80, caltech-fm: random training/test splits the read-out is repeated on "
                             f"(default: {N_SPLITS}; the network sees every image once)")
    parser.add_argument("--train-per-class", type=positive_int, default=None, metavar="N",
                        help="folder, caltech-fm: training images per class in each split (default: caltech-fm 200 as "
                             "published, folder half of each class)")
    parser.add_argument("--repeats", type=positive_int, default=10, metavar="R",
                        help="presentations of every crop (default: 10)")
    parser.add_argument("--seed", type=seed_int, default=0, metavar="S", help="seed of the Poisson input (default: 0)")
    parser.add_argument("--C", type=positive_float, default=None,
                        help="LinearSVC regularisation (default: the published value of the data set: 1; "
                             "SVHN 10; ETH-80 0.1)")
    parser.add_argument("--no-delays", action="store_true",
                        help="layer 2/3 without its axonal delays, as the published evaluation")
    parser.add_argument("--no-untrained", action="store_true",
                        help="simulate only the trained network: the untrained baseline (snapshot 0, half the "
                             "simulation) is left out of the results; run again without this option to add it "
                             "(the trained network's features are reused from the cache)")
    parser.add_argument("--no-reset", action="store_true",
                        help="present crops back to back without putting the network back to its initial state")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="local worker processes, one core each (default and most: one per core; a count "
                            "that does not fit in memory is refused)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler (e.g. tcp://host:8786); its workers need this package "
                            "(start them in its folder)")
    parser.add_argument("--out", default="output_evaluation", metavar="DIR",
                        help="output folder (default: output_evaluation)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results of an earlier evaluation in OUT/DATASET (the feature cache is "
                             "kept and reused where it matches)")
    parser.add_argument("--build-root", default=None, metavar="DIR",
                        help="where the workers compile their network, once per model code and structure, "
                             "and load it (default: build/ here; with --scheduler ~/.cache/v1-model/build on "
                             "each worker)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted evaluation in OUT with the same settings: the chunks of "
                             "features it finished are kept, the others simulated (the same features as an "
                             "uninterrupted run)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    args.command = ["evaluate.py"] + (list(argv) if argv is not None else sys.argv[1:])
    from runs.folder_lock import FolderBusy, FolderLock, FolderNotWritable
    from runs.snapshots import SnapshotError
    try:
        try:
            # one evaluation at a time writes into a folder; a folder made for a refused one goes again
            lock = FolderLock.acquire(Path(args.out) / args.dataset, "evaluation")
        except (FolderBusy, FolderNotWritable) as exc:
            raise UsageError(str(exc))
        try:
            return run(args)
        finally:
            lock.release(remove_created=True)
    except (UsageError, DatasetError, SnapshotError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from evaluation.chunks import FOLDER
        print(f"\nevaluate.py: interrupted; finished chunks of features are kept in "
              f"{Path(args.out) / args.dataset / FOLDER} (continue with --resume)", file=sys.stderr)
        return 130


# -- models --------------------------------------------------------------------------------------
def model_specs(args) -> dict:
    """The trained and the untrained (snapshot 0) network to evaluate (only the trained one with
    --no-untrained), every file checked."""
    from runs.snapshots import load_trained
    if args.l23:
        trained = load_trained(args.l23, args.l23_step)
        l4 = trained.l4
        if args.l4_step is not None and args.l4_step != l4.step:
            raise UsageError(f"--l4-step {args.l4_step}: the layer-2/3 run {args.l23} was trained on layer-4 "
                             f"step {l4.step} (leave --l4 and --l4-step out with --l23)")
        untrained = load_trained(args.l23, 0, l4_dir=l4.folder, l4_step=0)
        pops = ["E", "I", "E2", "I2"]
        specs = {"trained": dict(run=str(Path(args.l23)), step=trained.snapshot.step, l4=str(l4.folder), l4_step=l4.step),
                 "untrained": dict(run=str(Path(args.l23)), step=0, l4=str(l4.folder), l4_step=0)}
        loaded = {"trained": trained, "untrained": untrained}
    else:
        trained = load_trained(args.l4, args.l4_step)
        if trained.layer.frozen_from is not None:
            raise UsageError(f"{args.l4}: a layer-2/3 run; give it with --l23")
        untrained = load_trained(args.l4, 0)
        pops = ["E", "I"]
        specs = {"trained": dict(run=str(Path(args.l4)), step=trained.snapshot.step),
                 "untrained": dict(run=str(Path(args.l4)), step=0)}
        loaded = {"trained": trained, "untrained": untrained}
    if args.no_untrained:
        del specs["untrained"]
    for name, spec in specs.items():
        spec.update(populations=pops, delays=not args.no_delays,
                    build_root=args.build_root or ("~/.cache/v1-model/build" if args.scheduler else str(REPO_ROOT / "build")))
        spec["weights_sha256"] = _weights_hash(loaded[name])
    return specs


def _weights_hash(trained) -> str:
    h = hashlib.sha256()
    for name in sorted(trained.weights):
        h.update(name.encode())
        h.update(np.ascontiguousarray(trained.weights[name]).tobytes())
    for name in sorted(trained.delays or {}):
        h.update(np.ascontiguousarray(trained.delays[name]).tobytes())
    return h.hexdigest()


def check_split(dataset, protocol: Protocol, where) -> None:
    """Refuse data whose numbers would mean nothing: images the crops cannot be cut from,
    constant images, training and test images of different sizes (other crop offsets and
    whitening), fewer than two classes, or test classes the classifier never saw in training."""
    sizes = {}
    for split, images in (("training", dataset.train_images), ("test", dataset.test_images)):
        h, w = images.shape[1:3]
        if h != w:
            raise UsageError(f"{where}: the {split} images are {h}x{w} pixels; the evaluation needs square images")
        if h < protocol.crop:
            raise UsageError(f"{where}: the {split} images are {h}x{w} pixels, smaller than the network's "
                             f"{protocol.crop}x{protocol.crop} input crop")
        sizes[split] = h
        flat = np.flatnonzero(np.ptp(images.reshape(len(images), -1), axis=1) == 0)
        if flat.size:   # whitening leaves rounding noise, which the per-image scaling would raise to full rate
            raise UsageError(f"{where}: {flat.size} of the {len(images)} {split} images are constant (the first: "
                             f"image {flat[0]}); they have no contrast to show the network")
    if sizes["training"] != sizes["test"]:
        raise UsageError(f"{where}: training images are {sizes['training']} pixels wide, test images "
                         f"{sizes['test']}: both splits need the same size (same crops, same whitening)")
    for split, labels in (("training", dataset.train_labels), ("test", dataset.test_labels)):
        if len(np.unique(labels)) < 2:
            raise UsageError(f"{dataset.name}: the {split} split has {len(np.unique(labels))} class(es); "
                             "a classifier needs at least two (use a larger --limit)")
    unseen = sorted(set(np.unique(dataset.test_labels).tolist()) - set(np.unique(dataset.train_labels).tolist()))
    if unseen:
        shown = ", ".join(str(c) for c in unseen[:10]) + (" ..." if len(unseen) > 10 else "")
        raise UsageError(f"{dataset.name}: test classes {shown} never occur in the training split, so no "
                         "classifier can name them and the accuracy would mean nothing")


def check_scheduler(address: str) -> None:
    """A Dask scheduler answers at *address* (tcp://HOST:PORT), checked in seconds, not after a timeout."""
    import socket
    from urllib.parse import urlsplit
    parts = urlsplit(address if "://" in address else "tcp://" + address)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise UsageError(f"--scheduler {address}: expected tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=SCHEDULER_TIMEOUT_S).close()
    except OSError as exc:
        raise UsageError(f"--scheduler {address}: no Dask scheduler answers there "
                         f"({exc.strerror or exc or type(exc).__name__})")


# -- simulation ------------------------------------------------------------------------------------
def simulate(args, specs, rates, protocol: Protocol, todo, workers, chunks) -> tuple[dict, float, int]:
    """Features of every (model, set of images) in *todo*: model -> set -> pop -> (n, crops, cells).

    The chunks in *chunks* (``evaluation.chunks.ChunkStore``) that are finished are read, the
    others simulated, each saved as soon as it is done; at most two chunks per worker wait in
    the cluster at a time. Returns the features, the seconds the workers were busy and the
    number of presentations simulated (those of the chunks read are not).
    """
    from distributed import as_completed
    from tqdm import tqdm
    from evaluation.simulate import features
    from evaluation.workers import dask_client

    n_crops = next(iter(rates.values())).shape[1]
    done = set(chunks.finished())
    parts, pending = {}, []
    for model, split in todo:
        for start in range(0, len(rates[split]), CHUNK_IMAGES):
            part = (model, split, start)
            if part in done and (loaded := chunks.load(*part)) is not None:
                parts[part] = loaded
            else:
                pending.append(part)
    size = {part: (min(part[2] + CHUNK_IMAGES, len(rates[part[1]])) - part[2]) * n_crops * protocol.repeats
            for part in parts.keys() | set(pending)}
    busy = 0.0
    with tqdm(total=sum(size.values()), initial=sum(size[p] for p in parts), unit="pres", disable=args.no_progress,
              file=sys.stderr, dynamic_ncols=True, desc="presentations") as bar:
        if pending:
            with dask_client(args.scheduler, workers, REPO_ROOT, SCHEDULER_TIMEOUT_S) as client:
                def submit(part):
                    model, split, start = part
                    stop = min(start + CHUNK_IMAGES, len(rates[split]))
                    future = client.submit(features, specs[model], rates[split][start:stop], np.arange(start, stop),
                                           SPLIT_IDS[split], args.seed, protocol, pure=False)
                    running[future] = part
                    return future

                running, queue = {}, list(reversed(pending))
                in_flight = 2 * max(1, len(client.scheduler_info()["workers"]) if args.scheduler else workers)
                finished = as_completed([submit(queue.pop()) for _ in range(min(in_flight, len(queue)))])
                for future in finished:
                    part = running.pop(future)
                    result = future.result()
                    busy += result.pop("busy_s")
                    chunks.save(*part, result)           # kept whatever happens next
                    parts[part] = result
                    bar.update(size[part])
                    if queue:
                        finished.add(submit(queue.pop()))
    out = {}
    for model, split in todo:
        starts = sorted(s for (m, sp, s) in parts if m == model and sp == split)
        out.setdefault(model, {})[split] = {pop: np.concatenate([parts[(model, split, s)][pop] for s in starts])
                                            for pop in specs[model]["populations"]}
    return out, busy, sum(size[part] for part in pending)


# -- cache -------------------------------------------------------------------------------------------
def cache_key(arrays, protocol: Protocol, spec: dict, seed: int) -> str:
    """A hash of the images and labels (*arrays*), the protocol, the network and the seed."""
    h = hashlib.sha256()
    for array in arrays:
        h.update(np.ascontiguousarray(array).tobytes())
    settings = dict(protocol.record(), seed=seed, **{k: v for k, v in spec.items() if k != "build_root"})
    for name in ("C", "solver", "centre", "max_over"):     # the read-out does not change the features
        settings.pop(name)
    if settings["stride"] is None:                          # corner crops: keys as before crop grids existed
        settings.pop("stride")
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def load_cache(path: Path, keys: dict) -> dict:
    """Cached features whose key matches: model -> split -> pop -> array."""
    if not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError):
        return {}
    found = {}
    for model, key in keys.items():
        if str(arrays.get(f"{model}/key", "")) != key:
            continue
        for name, array in arrays.items():
            parts = name.split("/")
            if parts[0] == model and len(parts) == 3:
                found.setdefault(model, {}).setdefault(parts[1], {})[parts[2]] = array
    return found


def cached_simulation(path: Path) -> dict | None:
    """How the cached features were simulated (model time, wall time, workers, date), if recorded."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["simulation/record"])) if "simulation/record" in data.files else None
    except (OSError, ValueError):
        return None


def save_cache(path: Path, keys: dict, feats: dict, record: dict | None = None) -> None:
    from runs.files import atomic_write
    arrays = {f"{model}/key": np.array(key) for model, key in keys.items()}
    if record is not None:
        arrays["simulation/record"] = np.array(json.dumps(record))
    for model, splits in feats.items():
        for split, pops in splits.items():
            for pop, array in pops.items():
                arrays[f"{model}/{split}/{pop}"] = array
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def refuse_earlier_results(out: Path, overwrite: bool) -> None:
    """An output folder that holds an evaluation is replaced only with --overwrite (as training runs)."""
    if (out / "metrics.json").exists() and not overwrite:
        raise UsageError(f"{out}: already holds the results of an evaluation (metrics.json); use --overwrite to "
                         "replace them or --out to choose another folder")


# -- the run ----------------------------------------------------------------------------------------------
def protocol_of(args) -> Protocol:
    """The published protocol with the evaluated run's model numbers, the data set's published
    read-out and the options' departures."""
    from runs.snapshots import model_of_run
    readout = READOUTS[args.dataset]
    return Protocol.for_model(model_of_run(args.l23 or args.l4), repeats=args.repeats, reset=not args.no_reset,
                              delays=not args.no_delays, C=readout.C if args.C is None else args.C,
                              centre=readout.centre, max_over=readout.max_over)


def image_sets(args, dataset):
    """The images the network is shown, their labels, and the read-out's splits.

    A data set with its own split: images "train" and "test", one split. Image folders,
    ETH-80 and Caltech: all images "all" (each simulated once), and ``--splits`` random
    (training, test) splits of them. A split is ((set, index), (set, index)); index None: all."""
    if isinstance(dataset, PooledDataset):
        if args.limit is not None:
            raise UsageError(f"--limit: not for {args.dataset} (its read-out draws random splits from all images)")
        per_class = args.train_per_class
        if per_class is None and args.dataset == "caltech-fm":
            per_class = CALTECH_TRAIN_PER_CLASS                # published: 200 images of each class
        splits = random_splits(dataset, args.splits, SPLIT_SEED, per_class)
        return ({"all": dataset.images}, {"all": dataset.labels},
                [(("all", train), ("all", test)) for train, test in splits])
    check_split(dataset, protocol_of(args), args.data or args.dataset)
    return ({"train": dataset.train_images, "test": dataset.test_images},
            {"train": dataset.train_labels, "test": dataset.test_labels}, [(("train", None), ("test", None))])


def whitened(images: dict, dataset, protocol: Protocol) -> dict:
    """Each set of images whitened and scaled on its own; ETH-80 object by object."""
    from evaluation.protocol import to_grey, whiten_groups, whiten_split
    if getattr(dataset, "groups", None) is not None:
        return {name: whiten_groups(to_grey(x), dataset.groups, protocol) for name, x in images.items()}
    return {name: whiten_split(to_grey(x), protocol) for name, x in images.items()}


def dataset_record(dataset, splits) -> dict:
    """What metrics.json says about the data and its split(s)."""
    (_, train), (_, test) = splits[0]
    record = {"name": dataset.name, "source": dataset.source, "split": dataset.split,
              "classes": [str(c) for c in dataset.classes], "image_size": dataset.image_size}
    if not isinstance(dataset, PooledDataset):
        return dict(record, n_train=int(len(dataset.train_labels)), n_test=int(len(dataset.test_labels)),
                    **({"split_indices": dataset.extra} if dataset.extra else {}))
    record.update(n_train=int(len(train)), n_test=int(len(test)), n_images=int(len(dataset.labels)),
                  train_per_class=np.bincount(dataset.labels[train]).tolist(),
                  n_splits=len(splits), split_seed=SPLIT_SEED, resized_to=dataset.resized_to)
    if dataset.groups is not None:     # the training objects of every split
        record["train_objects"] = [sorted({dataset.group_names[g] for g in dataset.groups[t]}) for (_, t), _ in splits]
    else:
        record["train_indices"] = [t.tolist() for (_, t), _ in splits]
    return record


def test_responses(parts: dict, labels: dict, split) -> tuple[dict, np.ndarray]:
    """The features (name -> arrays) and labels of the test images of one split."""
    _, (name, index) = split
    if index is None:
        return {k: sets[name] for k, sets in parts.items()}, labels[name]
    return {k: [a[index] for a in sets[name]] for k, sets in parts.items()}, labels[name][index]


def run(args) -> int:
    from dataclasses import replace
    from tqdm import tqdm
    from evaluation.chunks import ChunkStore
    from evaluation.classify import read_out
    from evaluation.figures import representation_figures
    from evaluation.protocol import crop_offsets, crop_rates
    from evaluation.report import best_trained, write_report
    from evaluation.workers import local_workers

    readout = READOUTS[args.dataset]
    protocol = protocol_of(args)
    if args.scheduler:
        check_scheduler(args.scheduler)                     # before anything long
    workers, note = (None, None) if args.scheduler else local_workers(args.workers)   # before anything starts
    if note:
        print(f"evaluate.py: {note}", file=sys.stderr)
    specs = model_specs(args)                               # every weight file checked
    dataset = load_dataset(args.dataset, args.data, args.size)
    if not isinstance(dataset, PooledDataset):
        dataset = dataset.first(readout.first_train, readout.first_test).limited(args.limit)
    images, labels, splits = image_sets(args, dataset)
    if dataset.image_size > SMALL_SIDE:                     # a grid of crops over large images
        protocol = replace(protocol, stride=protocol.crop)
    t0 = time.perf_counter()
    rates = {name: crop_rates(w, protocol) for name, w in whitened(images, dataset, protocol).items()}
    n_crops = next(iter(rates.values())).shape[1]

    out = Path(args.out) / args.dataset                     # made and held by main()
    refuse_earlier_results(out, args.overwrite)
    arrays = [a for name in images for a in (images[name], labels[name])]
    keys = {model: cache_key(arrays, protocol, spec, args.seed) for model, spec in specs.items()}
    feats = load_cache(out / CACHE, keys)
    todo = [(m, s) for m in specs for s in images if s not in feats.get(m, {})]
    chunks = ChunkStore(out, keys)
    unfinished = [c for c in chunks.finished() if c[:2] in todo]
    if unfinished and not (args.resume or args.overwrite):     # --overwrite: reused, as the cache
        raise UsageError(f"{out}: holds an unfinished evaluation with these settings ({len(unfinished)} chunks "
                         "of features done); continue it with --resume")
    if args.resume and todo and not unfinished:
        raise UsageError(f"--resume: {out} holds no unfinished evaluation with these settings")
    sim_wall, busy, n_presentations = 0.0, 0.0, 0
    if todo:
        total = sum(len(rates[s]) for _, s in todo) * n_crops * protocol.repeats
        print(f"{args.dataset}: {total:,} presentations of {protocol.presentation_ms:g} ms "
              f"({' and '.join(f'{len(x)} {name}' for name, x in images.items())} images, "
              f"{n_crops} crops, {protocol.repeats} repeats, {' and '.join(specs)} network)"
              + (f"; {len(unfinished)} chunks done before" if unfinished else ""), file=sys.stderr)
        t_sim = time.perf_counter()
        new, busy, n_presentations = simulate(args, specs, rates, protocol, todo, workers, chunks)
        sim_wall = time.perf_counter() - t_sim
        for model, sets in new.items():
            feats.setdefault(model, {}).update(sets)
    model_s = n_presentations * protocol.presentation_ms / 1000.0
    if todo:
        cached = {"presentations": n_presentations, "model_time_s": model_s, "simulation_wall_time_s": sim_wall,
                  "model_per_wall": model_s / sim_wall if sim_wall > 0 else None,
                  "model_per_worker_second": model_s / busy if busy > 0 else None,
                  "workers": workers, "scheduler": args.scheduler,
                  "resumed_presentations": total - n_presentations,
                  "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds")}
        save_cache(out / CACHE, keys, feats, cached)
        chunks.clear()                                     # the features are complete
    else:
        cached = cached_simulation(out / CACHE)
        print(f"{args.dataset}: features from the cache ({out / CACHE})", file=sys.stderr)

    groups = [["E"], ["I"], ["E", "I"]]
    if args.l23:
        groups += [["E2"], ["I2"], ["E2", "I2"]]
    parts = {f"{model} {'+'.join(group)}": {s: [feats[model][s][p] for p in group] for s in images}
             for model in specs for group in groups}
    parts[PIXELS] = {s: [rates[s]] for s in images}
    t_fit = time.perf_counter()
    results = {}
    # minutes per feature set on a full data set (Fashion-MNIST: 60,000 x 1,296 features): a bar with ETA
    with tqdm(parts.items(), unit="fit", disable=args.no_progress, file=sys.stderr, dynamic_ncols=True,
              desc="read-out") as fits:
        for name, sets in fits:
            fits.set_postfix_str(name)
            results[name] = read_out(sets, labels, splits, protocol, args.seed)
    fit_wall = time.perf_counter() - t_fit
    timing = {"presentations_simulated": n_presentations, "model_time_s": model_s,
              "simulation_wall_time_s": sim_wall, "model_per_wall": model_s / sim_wall if sim_wall > 0 else None,
              # without the start of the workers and the compiles: model seconds per second of one worker
              "model_per_worker_second": model_s / busy if busy > 0 else None,
              "classification_wall_time_s": fit_wall,
              "total_wall_time_s": time.perf_counter() - t0,
              "workers": workers,
              "scheduler": args.scheduler,
              # the simulation that produced the features (this run's, or the cached one's)
              "features_simulated": cached}
    metrics = {
        "dataset": dataset_record(dataset, splits),
        "protocol": protocol.record(), "seed": args.seed,
        "C_from": "--C" if args.C is not None else f"the published value for {args.dataset}",
        "crops": {"size": protocol.crop, "stride": protocol.stride,
                  "offsets": [list(o) for o in crop_offsets(dataset.image_size, protocol.crop, protocol.stride)]},
        "models": {m: {k: v for k, v in s.items() if k != "build_root"} for m, s in specs.items()},
        "accuracy": {name: r["accuracy"] for name, r in results.items()},
        "results": results, "timing": timing, "command": args.command,
        "created": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    best = best_trained(metrics)
    shown, test_labels = test_responses({f"{best} (best population)": parts[best],
                                         "whitened ON/OFF pixels": parts[PIXELS]}, labels, splits[0])
    figures = representation_figures(out, shown, test_labels, metrics, protocol.centre, seed=args.seed)
    write_report(out, metrics, dataset, figures)
    d = metrics["dataset"]
    width = max(len(n) for n in results)
    print(f"{args.dataset}: test accuracy (LinearSVC, C = {protocol.C:g}; {d['n_train']} training, {d['n_test']} test "
          f"images{f', mean ± sd over {len(splits)} random splits' if len(splits) > 1 else ''})")
    for name, r in results.items():
        sd = f" ± {100 * r['accuracy_sd']:.2f}" if "accuracy_sd" in r else ""
        print(f"  {name:{width}s}  {100 * r['accuracy']:6.2f}{sd} %")
    if busy > 0:
        print(f"simulated {model_s:,.0f} s of model time in {sim_wall:,.1f} s of wall time "
              f"(model/wall {model_s / sim_wall:.1f}, including starting the workers and compiling; "
              f"{model_s / busy:.1f} model s per second of one worker once running); report: {out / 'report.md'}")
    return 0
