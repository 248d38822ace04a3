"""Tables and figures of the layer-4 seed study (``python -m analysis.seed_study report``).

Input: folders of per-run JSON records (``analysis.seed_study_records``) written by
``analysis.seed_study`` (``run``, ``swap``, and longer runs of a few seeds; records of the
``package`` order and of ``prefix`` from the study's earlier training loop). Output in ``--out``:

* ``seed_study.json``: per order the seeds, the failing ones, the failure rate with its
  exact 95 % interval, the per-seed measures; the swap experiment; the long runs;
* ``seed_study_timecourse.png``: I and E rates and the fraction of E cells not grown over
  the first patches, failing against healthy seeds;
* ``seed_study_separation.png``: what separates failing from healthy seeds (I rate against
  cells lost, the initial weights, the input of the first patches, the swap experiment);
* ``seed_study_mechanism.png``: the mean LGN->E and LGN->I weights over the first patches,
  and the prefix experiment (the first k patches of a sequence taken from another seed).

A run *fails* when more than ``health.fail_fraction`` of its E cells have all LGN weights below
wMax/2 at patch 2,000 (``training.health`` warns on the same criterion during training).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.seed_study_records import clopper_pearson, load_records, measures
from models.parameters import PUBLISHED
from runs.files import save_json

FAIL_NOT_GROWN = PUBLISHED.health.fail_fraction       # the published model's failure criterion
COLOURS = {"healthy": "0.65", "failing": "tab:red", "median": "black"}


def _moving_average(values, n):
    values = np.asarray(values, dtype=float)
    if len(values) < n:
        return values
    return np.convolve(values, np.ones(n) / n, mode="valid")


def failing(record_measures: dict) -> bool:
    return record_measures["not_grown_E_2000"] > FAIL_NOT_GROWN


def order_summary(records: list[dict]) -> dict:
    ms = sorted((measures(r) for r in records), key=lambda m: m["seed"])
    fail = [m["seed"] for m in ms if failing(m)]
    n, k = len(ms), len(fail)
    lo, hi = clopper_pearson(k, n)
    return {"order": records[0]["order"], "patches": records[0]["patches"], "n_seeds": n, "n_failing": k,
            "failure_rate": k / n, "failure_rate_ci95": [lo, hi], "failing_seeds": fail, "per_seed": ms}


def swap_summary(records: list[dict], fail_seeds) -> dict:
    """For every exchanged stream: runs, rescued runs (healthy despite the failing seed's other streams)."""
    out = {}
    for r in records:
        m = measures(r)
        if r["weight_seed"] != r["seed"] and r["weight_seed"] in fail_seeds and r["patch_seed"] in fail_seeds:
            stream, failing_seed = "spikes", r["weight_seed"]
        elif r["weight_seed"] != r["patch_seed"] and r["seed"] == r["patch_seed"]:
            stream, failing_seed = "weights", r["seed"]
        else:
            stream, failing_seed = "patches", r["seed"]
        row = out.setdefault(stream, {"runs": 0, "rescued": 0, "detail": []})
        row["runs"] += 1
        row["rescued"] += not failing(m)
        row["detail"].append({"failing_seed": failing_seed, "seed": r["seed"], "weight_seed": r["weight_seed"],
                              "patch_seed": r["patch_seed"], "not_grown_E_2000": m["not_grown_E_2000"],
                              "i_rate_100_1000": m["i_rate_100_1000"]})
    return out


def prefix_summary(records: list[dict], fail_seeds) -> list[dict]:
    """Per k and direction: runs and failing runs when the first k patches come from another seed."""
    rows = {}
    for r in records:
        k = r["prefix"][1]
        direction = "failing seed, first k from a healthy one" if r["patch_seed"] in fail_seeds \
            else "healthy seed, first k from a failing one"
        row = rows.setdefault((direction, k), {"direction": direction, "k": k, "runs": 0, "failing": 0, "detail": []})
        m = measures(r)
        row["runs"] += 1
        row["failing"] += failing(m)
        row["detail"].append({"seed": r["seed"], "prefix_seed": r["prefix"][0],
                              "not_grown_E_2000": m["not_grown_E_2000"]})
    return [rows[key] for key in sorted(rows)]


def mechanism_figure(records: list[dict], prefix: list[dict] | None, path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis.figures import _save

    n_panels = 3 if prefix else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.6 * n_panels, 4.0), layout="constrained")
    for r in records:
        name = "failing" if failing(measures(r)) else "healthy"
        kw = dict(color=COLOURS[name], lw=0.8 if name == "healthy" else 1.6, alpha=0.5 if name == "healthy" else 0.9)
        patches = [c["patch"] for c in r["checks"]]
        axes[0].plot(patches, [c["mean_LGN_E"] for c in r["checks"]], "o-", ms=2.5, **kw)
        axes[1].plot(patches, [c["mean_LGN_I"] for c in r["checks"]], "o-", ms=2.5, **kw)
    axes[0].set(xlabel="patches presented", ylabel="mean LGN→E weight", title="LTP or LTD wins early (LGN→E)")
    axes[1].set(xlabel="patches presented", ylabel="mean LGN→I weight", title="I cells grow their input (LGN→I)")
    if prefix:
        for direction, colour in (("failing seed, first k from a healthy one", "tab:green"),
                                  ("healthy seed, first k from a failing one", "tab:red")):
            rows = [r for r in prefix if r["direction"] == direction]
            axes[2].plot([r["k"] for r in rows], [r["failing"] / r["runs"] for r in rows], "o-", color=colour,
                         label=direction)
        axes[2].set_xscale("log")
        axes[2].set(xlabel="k: first patches taken from the other seed", ylabel="fraction of runs failing",
                    ylim=(-0.05, 1.05), title="when the sequence decides")
        axes[2].legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def timecourse_figure(records: list[dict], path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis.figures import _save

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    smooth = 5                                   # windows of 10 patches -> 50-patch average
    groups = {"healthy": [], "failing": []}
    for r in records:
        groups["failing" if failing(measures(r)) else "healthy"].append(r)
    for name in ("healthy", "failing"):
        for r in groups[name]:
            w = r["window"]
            x = (np.arange(len(r["rate_I"])) + 1) * w
            xs = x[smooth - 1:]
            kw = dict(color=COLOURS[name], lw=0.8 if name == "healthy" else 1.6, alpha=0.5 if name == "healthy" else 0.9)
            axes[0].plot(xs, _moving_average(r["rate_I"], smooth), **kw)
            axes[1].plot(xs, _moving_average(r["rate_E"], smooth), **kw)
            checks = r["checks"]
            axes[2].plot([c["patch"] for c in checks], [c["not_grown_E"] for c in checks], "o-", ms=3, **kw)
    for ax, label in zip(axes, ("mean I rate (Hz)", "mean E rate (Hz)", "E cells not grown (fraction)")):
        ax.set_xlabel("patches presented")
        ax.set_ylabel(label)
    axes[0].set_title("inhibitory population")
    axes[1].set_title("excitatory population")
    axes[2].set_title("E cells with every LGN weight < wMax/2")
    axes[2].axhline(FAIL_NOT_GROWN, color="k", ls=":", lw=1)
    handles = [plt.Line2D([], [], color=COLOURS["healthy"], label=f"healthy ({len(groups['healthy'])} seeds)"),
               plt.Line2D([], [], color=COLOURS["failing"], lw=1.6,
                          label=f"failing ({len(groups['failing'])}: seeds "
                                f"{', '.join(str(r['seed']) for r in sorted(groups['failing'], key=lambda r: r['seed']))})")]
    axes[0].legend(handles=handles, frameon=False, loc="upper right")
    fig.suptitle(title)
    return _save(fig, path)


def separation_figure(summaries: list[dict], swap: dict | None, path: Path, title: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from analysis.figures import _save

    main = summaries[0]["per_seed"]
    fail = np.array([failing(m) for m in main])
    n_panels = 4 if swap else 3
    fig, axes = plt.subplots(1, n_panels, figsize=(4.3 * n_panels, 4.0), layout="constrained")
    markers = {"published": "o", "package": "x"}
    for summary in summaries:
        ms = summary["per_seed"]
        f = np.array([failing(m) for m in ms])
        x = np.array([m["i_rate_100_1000"] for m in ms])
        y = np.array([m["not_grown_E_2000"] for m in ms])
        for flag, name in ((False, "healthy"), (True, "failing")):
            axes[0].scatter(x[f == flag], y[f == flag], s=18, marker=markers.get(summary["order"], "o"),
                            color=COLOURS[name], label=f"{summary['order']} order, {name}")
    axes[0].set_xscale("symlog", linthresh=1)
    axes[0].axhline(FAIL_NOT_GROWN, color="k", ls=":", lw=1)
    axes[0].set(xlabel="mean I rate, patches 100–1,000 (Hz)", ylabel="E cells not grown at 2,000",
                title="two outcomes")
    axes[0].legend(frameon=False, fontsize=8)

    def strip(ax, values, ylabel, title_):
        rng = np.random.default_rng(0)
        for k, (flag, name) in enumerate(((False, "healthy"), (True, "failing"))):
            v = values[fail == flag]
            ax.scatter(k + rng.uniform(-0.15, 0.15, len(v)), v, s=14, color=COLOURS[name])
        ax.set_xticks([0, 1], ["healthy", "failing"])
        ax.set(ylabel=ylabel, title=title_)

    strip(axes[1], np.array([m["initial"]["E_I"]["row_sum_mean"] + m["initial"]["LGN_I"]["row_sum_mean"]
                             for m in main]),
          "initial summed input weight per I cell", "initial LGN→I + E→I weights")
    strip(axes[2], np.array([m["input_rate_first_100"] for m in main]),
          "mean input rate, first 100 patches (Hz)", "first patches")
    if swap:
        streams = ["weights", "patches", "spikes"]
        rescued = [swap.get(s, {}).get("rescued", 0) for s in streams]
        runs = [swap.get(s, {}).get("runs", 0) for s in streams]
        axes[3].bar(range(3), [r / n if n else 0 for r, n in zip(rescued, runs)], color="tab:green")
        for k, (r, n) in enumerate(zip(rescued, runs)):
            axes[3].text(k, (r / n if n else 0) + 0.02, f"{r}/{n}", ha="center")
        axes[3].set_xticks(range(3), ["initial\nweights", "patch\nsequence", "Poisson\nspikes"])
        axes[3].set(ylim=(0, 1.1), ylabel="failing seeds rescued", title="one stream from a healthy seed")
    fig.suptitle(title)
    return _save(fig, path)


def write_report(folders: list[Path], out: Path) -> int:
    runs = {}
    for folder in folders:
        records = load_records(folder)
        if not records:
            raise SystemExit(f"{folder}: no seed-study records")
        if any(r.get("prefix") for r in records):
            kind = "prefix"
        elif any(r["weight_seed"] != r["seed"] or r["patch_seed"] != r["seed"] for r in records):
            kind = "swap"
        else:
            kind = "long" if records[0]["patches"] > 2000 else records[0]["order"]
        runs[kind] = records
    summaries = [order_summary(runs[o]) for o in ("published", "package") if o in runs]
    result = {"criterion": f"not grown at 2,000 patches > {FAIL_NOT_GROWN}", "orders": summaries}
    fail_seeds = set(summaries[0]["failing_seeds"]) if summaries else set()
    swap = swap_summary(runs["swap"], fail_seeds) if "swap" in runs else None
    result["swap"] = swap
    prefix = prefix_summary(runs["prefix"], fail_seeds) if "prefix" in runs else None
    result["prefix"] = prefix
    if "long" in runs:
        result["long_runs"] = [measures(r) | {"patches": r["patches"]} for r in runs["long"]]
    if len(summaries) == 2:
        a = {m["seed"]: failing(m) for m in summaries[0]["per_seed"]}
        b = {m["seed"]: failing(m) for m in summaries[1]["per_seed"]}
        result["orders_disagree_on"] = sorted(s for s in set(a) & set(b) if a[s] != b[s])
    out.mkdir(parents=True, exist_ok=True)
    save_json(out / "seed_study.json", result)
    if summaries:
        main = summaries[0]
        timecourse_figure(runs[main["order"]], out / "seed_study_timecourse.png",
                          f"Layer 4, {main['n_seeds']} seeds × {main['patches']:,} patches ({main['order']} order): "
                          f"{main['n_failing']} fail")
        separation_figure(summaries, swap, out / "seed_study_separation.png",
                          "What decides a failing seed")
        mechanism_figure(runs[main["order"]], prefix, out / "seed_study_mechanism.png",
                         "The first few hundred patches decide")
    for s in summaries:
        lo, hi = s["failure_rate_ci95"]
        print(f"{s['order']}: {s['n_failing']}/{s['n_seeds']} fail ({100 * s['failure_rate']:.1f} %, "
              f"95 % CI {100 * lo:.1f}–{100 * hi:.1f} %): seeds {s['failing_seeds']}")
    if swap:
        for stream, row in swap.items():
            print(f"swap {stream}: {row['rescued']}/{row['runs']} failing seeds rescued")
    for row in prefix or []:
        print(f"prefix: {row['direction']}, k = {row['k']}: {row['failing']}/{row['runs']} fail")
    if "long_runs" in result:
        for m in sorted(result["long_runs"], key=lambda m: m["seed"]):
            print(f"long run seed {m['seed']}: not grown at 2,000 / 20,000 patches: "
                  f"{m['not_grown_E_2000']:.3f} / {m.get('not_grown_E_20000', float('nan')):.3f}")
    if "orders_disagree_on" in result:
        print(f"the two orders disagree on seeds {result['orders_disagree_on']}")
    return 0
