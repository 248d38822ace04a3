"""The records of the layer-4 seed study: one JSON file per run, and the numbers taken from them.

``analysis.seed_study`` writes the records, ``analysis.seed_study_report`` reads them; both
import this module and nothing of each other.

A record holds the run's seeds (``seed``: ANNarchy's Poisson spikes; ``weight_seed``,
``patch_seed``: the initial weights and the patch sequence), ``order`` and ``prefix`` (the
ON/OFF balance order and the spliced patch sequence of earlier experiments; "published" and
None for the published order and one sequence), per window of ``window`` patches the mean E and I rates,
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
I_RATE_WINDOWS = (100, 1000)           # patches: mean I rate over this range


def weights_sha256(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float64).tobytes()).hexdigest()


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
