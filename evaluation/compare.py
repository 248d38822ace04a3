"""One accuracy table across evaluations: ``evaluate.py`` results of several runs side by side.

    python -m evaluation.compare RESULT [RESULT ...] [--label NAME ...] [--failing RESULT ...] --out DIR

RESULT is an ``evaluate.py`` output folder of one data set (``<out>/<dataset>``, holding its
``metrics.json``). All results must be of the same data set, split and protocol: accuracies
measured on different test sets are not comparable, and the table refuses to mix them.
Every accuracy p comes with its binomial standard error sqrt(p (1 - p) / n_test) (data sets
with repeated random splits, ETH-80 and Caltech: the mean over the splits ± their standard
deviation). Healthy runs get one column each and a median (range) column across them; failing
runs (``--failing``: the runs the training warned about) get labelled columns of their own,
outside the summary. Writes ``compare.json`` and ``compare.md`` into DIR.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from runs.files import atomic_write, save_json

PIXELS = "pixels (whitened ON/OFF crops)"


def load(folder: Path) -> dict:
    path = Path(folder) / "metrics.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"error: {path}: not found (give the evaluate.py output folder of one data set, "
                         f"e.g. eval/digits)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SystemExit(f"error: {path}: not a readable metrics file ({exc})") from None


def run_name(folder: Path, metrics: dict) -> str:
    """``eval/L4_seed2/digits`` -> ``L4_seed2``: the folder above the data set's own folder."""
    folder = Path(folder).resolve()
    return folder.parent.name if folder.name == metrics["dataset"]["name"] else folder.name


def _comparable_key(metrics: dict) -> tuple:
    d, p = metrics["dataset"], metrics["protocol"]
    return (d["name"], d["split"], d["n_train"], d["n_test"], p["repeats"], p["presentation_ms"], p["C"],
            p["reset"], p.get("delays"), p.get("centre", False))


def binomial_se(p: float, n: int) -> float:
    """Standard error of an accuracy p measured on n independent test images."""
    return float(np.sqrt(p * (1.0 - p) / n))


def spread(metrics: dict, row: str) -> tuple[float, str] | None:
    """(the ± value of one accuracy, what it is): the standard deviation across random splits
    where the data set has them, else the binomial standard error."""
    p = metrics["accuracy"].get(row)
    if p is None:
        return None
    sd = metrics.get("results", {}).get(row, {}).get("accuracy_sd")
    if sd is not None:
        return sd, "sd"
    return binomial_se(p, metrics["dataset"]["n_test"]), "se"


def _error(metrics: dict, row: str) -> float | None:
    found = spread(metrics, row)
    return None if found is None else found[0]


def accuracy_text(metrics: dict, row: str) -> str:
    """``90.00 ± 1.00 %``: an accuracy of a result with its standard error (or sd across splits)."""
    p = metrics["accuracy"].get(row)
    return "–" if p is None else f"{100 * p:.2f} ± {100 * _error(metrics, row):.2f} %"


def rows_of(results: list[dict]) -> list[str]:
    """Feature sets in a fixed order: trained populations, untrained, then pixels."""
    names: list[str] = []
    for m in results:
        for key in m["accuracy"]:
            if key not in names:
                names.append(key)
    order = lambda k: (0 if k.startswith("trained ") else 1 if k.startswith("untrained ") else 2, names.index(k))  # noqa: E731
    return sorted(names, key=order)


def table(healthy: list[dict], labels: list[str], failing: list[dict], failing_labels: list[str]) -> tuple[str, dict]:
    everything = healthy + failing
    keys = {_comparable_key(m) for m in everything}
    if len(keys) > 1:
        raise SystemExit("error: the results differ in data set, split or protocol; compare like with like:\n  "
                         + "\n  ".join(map(str, sorted(keys, key=str))))
    d = everything[0]["dataset"]
    rows = rows_of(everything)
    header = ["features"] + labels + (["median (range)"] if len(healthy) > 1 else []) + \
             [f"{name} (failing)" for name in failing_labels]
    kind = {spread(m, r)[1] for m in everything for r in m["accuracy"]}
    meaning = ("mean ± standard deviation over the random splits" if kind == {"sd"} else
               "accuracy ± binomial standard error sqrt(p(1-p)/n_test)" if kind == {"se"} else
               "accuracy ± binomial standard error, or mean ± sd over random splits")
    lines = [f"Test accuracy, {d['name']} ({d['n_train']} training / {d['n_test']} test images, split: "
             f"{d['split']}); {meaning}; chance {100 / len(d['classes']):.1f} %.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    summary: dict = {"dataset": d["name"], "n_test": d["n_test"], "runs": labels, "failing": failing_labels,
                     "errors": meaning, "rows": {}}
    for row in rows:
        vals = [m["accuracy"].get(row) for m in healthy]
        cells = [accuracy_text(m, row) for m in healthy]
        present = [v for v in vals if v is not None]
        entry = {"values": vals, "errors": [_error(m, row) for m in healthy]}
        if len(healthy) > 1:
            if present:
                med, lo, hi = (100 * float(f(present)) for f in (np.median, np.min, np.max))
                cells.append(f"{med:.2f} % ({lo:.2f}–{hi:.2f})")
                entry.update(median=med / 100, min=lo / 100, max=hi / 100)
            else:
                cells.append("–")
        fvals = [m["accuracy"].get(row) for m in failing]
        cells += [accuracy_text(m, row) for m in failing]
        entry["failing"] = fvals
        entry["failing_errors"] = [_error(m, row) for m in failing]
        summary["rows"][row] = entry
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", type=Path, help="evaluate.py output folders (<out>/<dataset>)")
    parser.add_argument("--label", nargs="+", default=None, help="a column name per RESULT (default: folder names)")
    parser.add_argument("--failing", nargs="*", type=Path, default=[], help="results of runs that failed to learn")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.label is not None and len(args.label) != len(args.results):
        parser.error("give one --label per result")
    healthy = [load(p) for p in args.results]
    failing = [load(p) for p in args.failing]
    labels = args.label or [run_name(p, m) for p, m in zip(args.results, healthy)]
    failing_labels = [run_name(p, m) for p, m in zip(args.failing, failing)]
    text, summary = table(healthy, labels, failing, failing_labels)
    args.out.mkdir(parents=True, exist_ok=True)
    summary["sources"] = [str(p) for p in args.results + args.failing]
    save_json(args.out / "compare.json", summary)
    atomic_write(args.out / "compare.md", lambda f: f.write(text.encode()))
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
