"""The records of the layer-4 seed study: one JSON file per run, and the numbers taken from them.

``analysis.seed_study`` writes the records (``record_of_run``, from the output folder of a
training run), ``analysis.seed_study_report`` reads them; both import this module and
nothing of each other.

A record holds the run's seeds (``seed``: ANNarchy's Poisson spikes; ``weight_seed``,
``patch_seed``: the initial weights and the patch sequence), ``order`` and ``prefix`` (the
ON/OFF balance order and the spliced patch sequence of earlier experiments; "published" and
None for every run of the trainer), per window of ``window`` patches the mean E and I rates,
the fractions of E and I cells that spiked and the mean input rate; every ``check_every``
patches (``checks``) the fraction of E and I cells without a field (every LGN weight below
wMax/2) and the mean weight of every plastic projection; the initial weights' statistics,
the final weights' SHA-256 and the wall time.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

WINDOW = 10                  # patches per recorded window
CHECK_EVERY = 200            # patches between weight checks
FIELD_PROJECTIONS = {"E": "LGN_E", "I": "LGN_I"}
INITIAL_PROJECTIONS = ("LGN_E", "LGN_I", "E_I")   # the drawn initial weights (I->E, I->I start at 0)
I_RATE_WINDOWS = (100, 1000)           # patches: mean I rate over this range


class SeedStudyError(ValueError):
    """A run folder that cannot give a seed-study record (one line)."""


def weights_sha256(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float64).tobytes()).hexdigest()


def record_of_run(run_dir, *, weight_seed: int, patch_seed: int, input_rates, wall_s: float) -> dict:
    """The study's record of the finished layer-4 run in *run_dir* (``training.cli.train`` with
    rate windows of ``WINDOW`` patches and snapshots every ``CHECK_EVERY``).

    *input_rates*: the mean input rate (Hz) of every patch of the run, in order.
    """
    from models.criteria import has_field
    from runs.snapshots import SnapshotError, layer_of, load_snapshot

    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "run.json").read_text())
    if meta.get("status") != "complete":
        raise SeedStudyError(f"{run_dir}: the run did not finish (status {meta.get('status')})")
    if meta["images"]["origin"] == "stand-in":
        raise SeedStudyError(f"{run_dir}: trained on the stand-in images, not on real ones")
    layer = layer_of(run_dir)
    model = layer.model
    if model.training.rate_window != WINDOW or meta["save_every"] != CHECK_EVERY:
        raise SeedStudyError(f"{run_dir}: rate windows of {model.training.rate_window} and snapshots every "
                             f"{meta['save_every']} patches; the study needs {WINDOW} and {CHECK_EVERY}")
    patches = int(meta["patches"])
    w_max = {pop: layer.spec(name).rule.wMax for pop, name in FIELD_PROJECTIONS.items()}
    snapshots = {}
    try:
        for step in meta["snapshot_steps"]:
            snapshots[step] = load_snapshot(layer, run_dir, step).weights
    except SnapshotError as exc:
        raise SeedStudyError(str(exc)) from None

    def check(step):
        weights = snapshots[step]
        row = {"patch": step}
        for pop, name in FIELD_PROJECTIONS.items():
            row[f"not_grown_{pop}"] = float(np.mean(~has_field(model, weights[name], w_max[pop])))
        for spec in layer.plastic:
            row[f"mean_{spec.name}"] = float(weights[spec.name].mean())
        return row

    initial = {}
    for name in INITIAL_PROJECTIONS:
        w = snapshots[0][name]
        initial[name] = {"mean": float(w.mean()), "row_sum_mean": float(w.sum(1).mean()),
                         "row_sum_min": float(w.sum(1).min()), "row_sum_max": float(w.sum(1).max())}
    exc, inh = (np.load(run_dir / f) for f in ("frExc.npy", "frInh.npy"))
    input_rates = np.asarray(input_rates, dtype=np.float64)
    if len(input_rates) != patches:
        raise SeedStudyError(f"{run_dir}: {len(input_rates)} input rates for {patches} patches")
    return dict(seed=meta["seed"], weight_seed=int(weight_seed), patch_seed=int(patch_seed), order="published",
                patches=patches, prefix=None, window=WINDOW, check_every=CHECK_EVERY, initial=initial,
                rate_E=[float(r) for r in exc.mean(axis=1)], rate_I=[float(r) for r in inh.mean(axis=1)],
                active_E=[float(a) for a in (exc > 0).mean(axis=1)],
                active_I=[float(a) for a in (inh > 0).mean(axis=1)],
                input_rate=[float(input_rates[k:k + WINDOW].mean()) for k in range(0, patches, WINDOW)],
                checks=[check(step) for step in meta["snapshot_steps"]],
                final_weights_sha256={spec.name: weights_sha256(snapshots[patches][spec.name])
                                      for spec in layer.plastic},
                wall_s=float(wall_s))


def measures(record: dict) -> dict:
    """The per-seed numbers of the study."""
    w = record["window"]
    lo, hi = (p // w for p in I_RATE_WINDOWS)
    checks = {c["patch"]: c for c in record["checks"]}
    out = {"seed": record["seed"], "weight_seed": record["weight_seed"], "patch_seed": record["patch_seed"],
           "i_rate_100_1000": float(np.mean(record["rate_I"][lo:hi])),
           "e_rate_100_1000": float(np.mean(record["rate_E"][lo:hi])),
           "i_rate_first_100": float(np.mean(record["rate_I"][:100 // w])),
           "e_rate_first_100": float(np.mean(record["rate_E"][:100 // w])),
           "i_active_windows_first_200": int(np.sum(np.array(record["active_I"][:200 // w]) > 0.5)),
           "input_rate_first_100": float(np.mean(record["input_rate"][:100 // w])),
           "initial": record["initial"]}
    for p in (1200, 2000, 20000):
        if p in checks:
            out[f"not_grown_E_{p}"] = checks[p]["not_grown_E"]
            out[f"not_grown_I_{p}"] = checks[p]["not_grown_I"]
    return out


def summary_line(record: dict) -> str:
    m = measures(record)
    return (f"seed {m['seed']}: I rate (patches 100-1000) {m['i_rate_100_1000']:.2f} Hz, "
            f"E cells not grown at 1200/2000: {m.get('not_grown_E_1200', float('nan')):.3f}/"
            f"{m.get('not_grown_E_2000', float('nan')):.3f}, {record['wall_s']:.0f} s")


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95 % interval of a binomial proportion k/n."""
    from scipy.stats import beta
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def load_records(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]
